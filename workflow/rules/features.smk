# The feature diff: one job runs every feature checkpoint (and epoch 0's noise copy, the null) over the training
# images and the probe set once; then a crosscoder per visualised layer, with its table and figure.


rule feature_activations:
    input:
        checkpoints=lambda w: [checkpoint(w.exp, e) for e in feature_epochs(w.exp)],
        probe=lambda w: artifact("probe", w.exp),
        images=lambda w: list(probe_source(w.exp).values()),
    output:
        artifact("feature_activations"),
    params:
        layers=lambda w: layer_args(w.exp, layers(w.exp)).replace(" ", ","),
        images=lambda w: feature_images(w.exp),
        settings=lambda w: feature_settings(w.exp),
    log:
        "logs/{exp}/features/activations.log",
    benchmark:
        "logs/benchmarks/{exp}/features/activations.tsv"
    threads: 1
    resources:
        gpu=1,
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens feature-activations --checkpoints {input.checkpoints} --layers {params.layers} {params.images}"
        " --probe {input.probe} --settings {params.settings} -o {output} --threads {threads} --no-progress "
        + LOGGED


rule features:
    input:
        activations=lambda w: artifact("feature_activations", w.exp),
        probe=lambda w: artifact("probe", w.exp),
        checkpoints=lambda w: [checkpoint(w.exp, e) for e in feature_epochs(w.exp)],
    output:
        table=artifact("features"),
        summary=artifact("features_summary"),
        dictionary=artifact("crosscoder"),
        figure=report(artifact("features_png"), caption="../report/features.rst", category="{exp}",
                      subcategory="{layer}"),
    params:
        layer=lambda w: layer_of(w.exp, w.layer),
        settings=lambda w: feature_settings(w.exp),
        render=lambda w: render_method(w.exp),
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
        "driftlens features --layer {params.layer} --activations {input.activations} --probe {input.probe}"
        " --settings {params.settings} -o {output.table} --summary {output.summary} --dictionary {output.dictionary}"
        " --figure {output.figure} --checkpoints {input.checkpoints} {params.render} --threads {threads}"
        " --no-progress " + LOGGED
