# Change between epochs: similarity of the visualisations, and of the representations on probe images.


rule similarity:
    input:
        epochs=lambda w: [f"results/{w.exp}/{w.layer}/epoch_{tag(e)}.npz" for e in visual_epochs(w.exp)],
        noise=lambda w: [f"results/{w.exp}/{w.layer}/noise_{tag(e)}.npz" for e in noise_epochs(w.exp)],
    output:
        "results/{exp}/{layer}/similarity.csv",
    log:
        "logs/{exp}/{layer}/similarity.log",
    benchmark:
        "logs/benchmarks/{exp}/{layer}/similarity.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens similarity --epochs {input.epochs} --noise {input.noise} -o {output} > {log} 2>&1"


rule representation:
    input:
        first=lambda w: checkpoint(w.exp, 0),
        checkpoint=lambda w: checkpoint(w.exp, w.epoch),
        probe="results/{exp}/probe.npz",
    output:
        "results/{exp}/representation/epoch_{epoch}.json",
    params:
        layers=lambda w: ",".join(experiment(w.exp)["visualize"]["layers"]),
    log:
        "logs/{exp}/representation/epoch_{epoch}.log",
    benchmark:
        "logs/benchmarks/{exp}/representation/epoch_{epoch}.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens representation --first {input.first} --checkpoint {input.checkpoint}"
        " --probe {input.probe} --layers {params.layers} -o {output} > {log} 2>&1"
