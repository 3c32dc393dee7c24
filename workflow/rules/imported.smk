# A run trained elsewhere (an experiment with checkpoints:): each file, read weights-only, becomes the driftlens
# checkpoint of its epoch (evaluated on the probe images when they are labelled); there is no training job.


rule import_checkpoint:
    input:
        weights=lambda w: imported_file(w.exp, w.epoch),
        probe=lambda w: artifact("probe", w.exp),
    output:
        checkpoint=artifact("checkpoint"),
        metrics=artifact("metrics"),
    wildcard_constraints:
        exp=experiments_pattern(imported_ones=True),
    params:
        model=lambda w: experiment(w.exp)["model"],
        weights=lambda w: series(w.exp)[int(w.epoch)],
        key=lambda w: option("--key", experiment(w.exp)["key"]),
        precision=lambda w: model_settings(w.exp)["precision"],
    log:
        "logs/{exp}/import/epoch_{epoch}.log",
    benchmark:
        "logs/benchmarks/{exp}/import/epoch_{epoch}.tsv"
    threads: 1
    resources:
        gpu=1,
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens import-checkpoint --model {params.model} --weights {params.weights} {params.key}"
        " --epoch {wildcards.epoch} --probe {input.probe} --precision {params.precision} --out {output.checkpoint}"
        " --metrics {output.metrics} --threads {threads} " + LOGGED
