# Feature visualisation: one job per (checkpoint, layer); each writes one row of channel images.


rule probe_images:
    input:
        splits=lambda w: splits_file(w.exp),
    output:
        "results/{exp}/probe.npz",
    params:
        images=lambda w: experiment(w.exp)["compare"]["probe_images"],
        size=lambda w: experiment(w.exp)["image_size"],
    log:
        "logs/{exp}/probe.log",
    benchmark:
        "logs/benchmarks/{exp}/probe.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens probe --splits {input.splits} --count {params.images} --size {params.size}"
        " -o {output} > {log} 2>&1"


rule select_channels:
    input:
        checkpoint=lambda w: checkpoint(w.exp, 0),
        probe="results/{exp}/probe.npz",
    output:
        "results/{exp}/{layer}/channels.txt",
    params:
        spec=lambda w: channel_spec(w.exp),
    log:
        "logs/{exp}/{layer}/channels.log",
    benchmark:
        "logs/benchmarks/{exp}/{layer}/channels.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens select-channels --checkpoint {input.checkpoint} --probe {input.probe}"
        " --layer {wildcards.layer} --channels {params.spec} -o {output} > {log} 2>&1"


rule visualize:
    # kind "epoch": the seed of the config; kind "noise": seed + 1, to measure optimisation noise.
    input:
        checkpoint=lambda w: checkpoint(w.exp, w.epoch),
        channels="results/{exp}/{layer}/channels.txt",
        spectrum=lambda w: spectrum_files(w.exp),
    output:
        png="results/{exp}/{layer}/{kind}_{epoch}.png",
        raw="results/{exp}/{layer}/{kind}_{epoch}.npz",
    wildcard_constraints:
        kind="epoch|noise",
    params:
        render=lambda w: render_params(w.exp, seed_offset=int(w.kind == "noise")),
        spectrum=lambda w, input: option("--spectrum", "".join(input.spectrum)),
    log:
        "logs/{exp}/{layer}/{kind}_{epoch}.log",
    benchmark:
        "logs/benchmarks/{exp}/{layer}/{kind}_{epoch}.tsv"
    resources:
        gpu=1,
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens render --checkpoint {input.checkpoint} --layers {wildcards.layer}"
        " --channels $(cat {input.channels}) {params.render} {params.spectrum} --no-labels"
        " --raw {output.raw} -o {output.png} > {log} 2>&1"
