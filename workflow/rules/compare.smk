# Change between epochs: the representation on probe images, the units' responses, and per-channel verdicts.


rule representation:
    input:
        first=lambda w: checkpoint(w.exp, 0),
        checkpoint=lambda w: checkpoint(w.exp, w.epoch),
        probe=lambda w: artifact("probe", w.exp),
        rows=lambda w: [artifact("render", w.exp, w.epoch, layer) for layer in layers(w.exp)],
        first_rows=lambda w: [artifact("render", w.exp, 0, layer) for layer in layers(w.exp)],
    output:
        json=artifact("representation"),
        responses=artifact("responses"),
    params:
        layers=lambda w: ",".join(layers(w.exp)),
    log:
        "logs/{exp}/representation/epoch_{epoch}.log",
    benchmark:
        "logs/benchmarks/{exp}/representation/epoch_{epoch}.tsv"
    threads: 1
    resources:
        gpu=1,
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens representation --first {input.first} --checkpoint {input.checkpoint} --probe {input.probe}"
        " --layers {params.layers} --rows {input.rows} --first-rows {input.first_rows}"
        " --responses {output.responses} -o {output.json} --threads {threads} --no-progress > {log} 2>&1"


rule change:
    input:
        rows=lambda w: [artifact("render", w.exp, e, w.layer) for e in visual_epochs(w.exp)],
        responses=lambda w: [artifact("responses", w.exp, e) for e in visual_epochs(w.exp)],
    output:
        artifact("change"),
    log:
        "logs/{exp}/{layer}/change.log",
    benchmark:
        "logs/benchmarks/{exp}/{layer}/change.tsv"
    threads: 1
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens change --layer {wildcards.layer} --rows {input.rows} --responses {input.responses}"
        " -o {output} --threads {threads} > {log} 2>&1"
