# Change between epochs: the representation on probe images, the units' responses, and per-channel verdicts.


rule representation:
    input:
        first=lambda w: checkpoint(w.exp, 0),
        checkpoint=lambda w: checkpoint(w.exp, w.epoch),
        probe=lambda w: probe_file(w.exp),
        rows=lambda w: [render_row(w.exp, layer, w.epoch) for layer in layers(w.exp)],
        first_rows=lambda w: [render_row(w.exp, layer, 0) for layer in layers(w.exp)],
    output:
        json=representation_file("{exp}", "{epoch}"),
        responses=responses_file("{exp}", "{epoch}"),
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
        rows=lambda w: [render_row(w.exp, w.layer, e) for e in visual_epochs(w.exp)],
        responses=lambda w: [responses_file(w.exp, e) for e in visual_epochs(w.exp)],
    output:
        change_table("{exp}", "{layer}"),
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
