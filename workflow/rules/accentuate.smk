# Feature accentuation (optional, visualize.accentuation): the same probe images, accentuated for the first
# selected channel of a layer at every rendered epoch (the command's default steps and penalty).


def accentuation_figures(name):
    """``results/{exp}/{layer}/accentuation.png`` per layer when switched on, else ``[]``."""
    vis = experiment(name)["visualize"]
    return [artifact("accentuation", name, layer=layer) for layer in layers(name)] if vis["accentuation"] else []


rule accentuation:
    input:
        checkpoints=lambda w: [checkpoint(w.exp, e) for e in visual_epochs(w.exp)],
        probe=lambda w: artifact("probe", w.exp),
        channels=artifact("channels"),
    output:
        artifact("accentuation"),
    params:
        size=lambda w: experiment(w.exp)["visualize"]["size"],
        seed=lambda w: experiment(w.exp)["visualize"]["seed"],
        layer=lambda w: layer_of(w.exp, w.layer),
    log:
        "logs/{exp}/{layer}/accentuation.log",
    benchmark:
        "logs/benchmarks/{exp}/{layer}/accentuation.tsv"
    threads: 1
    resources:
        gpu=1,
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens accentuate --checkpoints {input.checkpoints} --probe {input.probe}"
        " --layer {params.layer} --channels-file {input.channels}"
        " --size {params.size} --seed {params.seed} --no-progress -o {output} --threads {threads} " + LOGGED
