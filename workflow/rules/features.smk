# The feature diff: each feature checkpoint's activation vectors (epoch 0's job also those of its noise copy, the
# null), a crosscoder per visualised layer over them, and its figure.


rule feature_activations:
    input:
        checkpoint=lambda w: checkpoint(w.exp, w.epoch),
        previous=lambda w: previous_feature_checkpoint(w.exp, w.epoch),
        probe=lambda w: artifact("probe", w.exp),
        images=lambda w: list(probe_source(w.exp).values()),
    output:
        artifact("feature_activations"),
    wildcard_constraints:
        epoch=r"(?!000)\d{3}",  # epoch 0's file comes with the noise null's (feature_activations_first)
    params:
        layers=lambda w: layer_args(w.exp, layers(w.exp)).replace(" ", ","),
        previous=lambda w, input: option("--previous", "".join(input.previous)),
        images=lambda w: feature_images(w.exp),
        seed=lambda w: option("--seed", experiment(w.exp)["features"].get("seed")),
    log:
        "logs/{exp}/features/activations_{epoch}.log",
    benchmark:
        "logs/benchmarks/{exp}/features/activations_{epoch}.tsv"
    threads: 1
    resources:
        gpu=1,
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens feature-activations --checkpoint {input.checkpoint} {params.previous} --layers {params.layers}"
        " {params.images} --probe {input.probe} {params.seed} -o {output} --threads {threads} --no-progress " + LOGGED


rule feature_activations_first:
    input:
        checkpoint=lambda w: checkpoint(w.exp, 0),
        probe=lambda w: artifact("probe", w.exp),
        images=lambda w: list(probe_source(w.exp).values()),
    output:
        activations=artifact("feature_activations", epoch=0),
        noise=artifact("feature_noise"),
    params:
        layers=lambda w: layer_args(w.exp, layers(w.exp)).replace(" ", ","),
        images=lambda w: feature_images(w.exp),
        seed=lambda w: option("--seed", experiment(w.exp)["features"].get("seed")),
        noise=lambda w: option("--noise", experiment(w.exp)["features"].get("noise")),
    log:
        "logs/{exp}/features/activations_000.log",
    benchmark:
        "logs/benchmarks/{exp}/features/activations_000.tsv"
    threads: 1
    resources:
        gpu=1,
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens feature-activations --checkpoint {input.checkpoint} --layers {params.layers} {params.images}"
        " --probe {input.probe} {params.seed} {params.noise} -o {output.activations} --noise-output {output.noise}"
        " --threads {threads} --no-progress " + LOGGED


rule features:
    input:
        activations=lambda w: [artifact("feature_activations", w.exp, e) for e in feature_epochs(w.exp)],
        noise=lambda w: artifact("feature_noise", w.exp),
        probe=lambda w: artifact("probe", w.exp),
    output:
        table=artifact("features"),
        summary=artifact("features_summary"),
        dictionary=artifact("crosscoder"),
    params:
        layer=lambda w: layer_of(w.exp, w.layer),
        settings=lambda w: feature_settings(w.exp),
    log:
        "logs/{exp}/{layer}/features.log",
    benchmark:
        "logs/benchmarks/{exp}/{layer}/features.tsv"
    threads: 1
    resources:
        gpu=1,
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens features --layer {params.layer} --activations {input.activations} --noise-activations {input.noise}"
        " --probe {input.probe} --settings {params.settings} -o {output.table} --summary {output.summary}"
        " --dictionary {output.dictionary} --threads {threads} --no-progress " + LOGGED


rule features_figure:
    input:
        table=artifact("features"),
        summary=artifact("features_summary"),
        dictionary=artifact("crosscoder"),
        probe=lambda w: artifact("probe", w.exp),
        checkpoints=lambda w: [checkpoint(w.exp, e) for e in feature_epochs(w.exp)],
    output:
        report(artifact("features_png"), caption="../report/features.rst", category="{exp}", subcategory="{layer}"),
    params:
        render=lambda w: (f"--method {experiment(w.exp)['visualize']['method']} --steps "
                          f"{experiment(w.exp)['visualize']['steps']} --size {experiment(w.exp)['visualize']['size']}"
                          f" --seed {experiment(w.exp)['visualize']['seed']}"),
    log:
        "logs/{exp}/{layer}/features_figure.log",
    benchmark:
        "logs/benchmarks/{exp}/{layer}/features_figure.tsv"
    threads: 1
    resources:
        gpu=1,
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens plot-features --features {input.table} --summary {input.summary} --dictionary {input.dictionary}"
        " --probe {input.probe} --checkpoints {input.checkpoints} {params.render} -o {output}"
        " --threads {threads} --no-progress " + LOGGED
