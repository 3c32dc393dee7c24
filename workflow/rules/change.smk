# Change between epochs: one probe pass per checkpoint, the change screen of every channel, and the change
# tables of the rendered channels.


rule representation:
    input:
        first=lambda w: checkpoint(w.exp, 0),
        checkpoint=lambda w: checkpoint(w.exp, w.epoch),
        probe=lambda w: artifact("probe", w.exp),
        first_responses=lambda w: [artifact("probe_responses", w.exp, 0)] if int(w.epoch) else [],
    output:
        json=artifact("representation"),
        responses=artifact("probe_responses"),
    params:
        layers=lambda w: screen_layer_names(w.exp),
        first=lambda w, input: option("--first-responses", "".join(input.first_responses)),
    log:
        "logs/{exp}/representation/epoch_{epoch}.log",
    benchmark:
        "logs/benchmarks/{exp}/representation/epoch_{epoch}.tsv"
    threads: 1
    priority: CHAIN_PRIORITY
    resources:
        gpu=1,
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens representation --first {input.first} --checkpoint {input.checkpoint} --probe {input.probe}"
        " --layers {params.layers} {params.first} --responses {output.responses} -o {output.json}"
        " --threads {threads} --no-progress " + LOGGED


rule screen:
    input:
        lambda w: [artifact("probe_responses", w.exp, e) for e in all_epochs(w.exp)],
    output:
        screen=artifact("screen"),
        volcano=report(artifact("volcano"), caption="../report/volcano.rst", category="{exp}", subcategory="{layer}"),
    params:
        screen=lambda w: screen_params(w.exp),
        layer=lambda w: layer_of(w.exp, w.layer),
    log:
        "logs/{exp}/{layer}/screen.log",
    benchmark:
        "logs/benchmarks/{exp}/{layer}/screen.tsv"
    threads: 1
    priority: CHAIN_PRIORITY
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens screen --layer {params.layer} --responses {input} {params.screen} --volcano {output.volcano}"
        " -o {output.screen}"
        " --threads {threads} " + LOGGED


rule change:
    input:
        rows=lambda w: [artifact("render", w.exp, e, w.layer) for e in visual_epochs(w.exp)],
        checkpoints=lambda w: [checkpoint(w.exp, e) for e in visual_epochs(w.exp)],
        responses=lambda w: [artifact("probe_responses", w.exp, e) for e in visual_epochs(w.exp)],
        screen=lambda w: artifact("screen", w.exp, layer=w.layer),
    output:
        artifact("change"),
    params:
        layer=lambda w: layer_of(w.exp, w.layer),
    log:
        "logs/{exp}/{layer}/change.log",
    benchmark:
        "logs/benchmarks/{exp}/{layer}/change.tsv"
    threads: 1
    priority: CHAIN_PRIORITY
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens change --layer {params.layer} --rows {input.rows} --checkpoints {input.checkpoints}"
        " --responses {input.responses} --screen {input.screen} -o {output} --threads {threads} " + LOGGED
