# Training: epoch 0 is the untouched start model; each later epoch is one job that continues from the last.


rule experiment_config:
    output:
        artifact("config"),
    params:
        config=lambda w: quoted_json({"experiment": w.exp, **experiment(w.exp)}),
    log:
        "logs/{exp}/config.log",
    benchmark:
        "logs/benchmarks/{exp}/config.tsv"
    localrule: True
    # a shell job, not `run:`: Snakemake runs a `run:` job in a fresh Snakemake process (14 s here, holding a core)
    shell:
        "printf '%s\\n' {params.config} > {output} 2> {log}"


rule start_model:
    input:
        splits=lambda w: splits_file(w.exp),
    output:
        checkpoint=artifact("checkpoint", epoch=0),
        metrics=artifact("metrics", epoch=0),
    wildcard_constraints:
        exp=experiments_pattern(imported_ones=False),
    params:
        config=lambda w: quoted_json(train_config(w.exp)),
    log:
        "logs/{exp}/train/epoch_000.log",
    benchmark:
        "logs/benchmarks/{exp}/train/epoch_000.tsv"
    threads: 1
    priority: TRAINING_PRIORITY
    resources:
        gpu=1,
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens train-epoch --config-json {params.config} --epoch 0"
        " --out {output.checkpoint} --metrics {output.metrics} --threads {threads} " + LOGGED


rule train_epoch:
    input:
        previous=lambda w: checkpoint(w.exp, int(w.epoch) - 1),
        splits=lambda w: splits_file(w.exp),
    output:
        checkpoint=artifact("checkpoint"),
        metrics=artifact("metrics"),
    wildcard_constraints:
        exp=experiments_pattern(imported_ones=False),
        epoch=r"(?!000)\d{3}",
    params:
        config=lambda w: quoted_json(train_config(w.exp)),
    log:
        "logs/{exp}/train/epoch_{epoch}.log",
    benchmark:
        "logs/benchmarks/{exp}/train/epoch_{epoch}.tsv"
    threads: 1
    priority: TRAINING_PRIORITY
    resources:
        gpu=1,
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens train-epoch --config-json {params.config} --epoch {wildcards.epoch}"
        " --previous {input.previous} --out {output.checkpoint} --metrics {output.metrics} --threads {threads}"
        " " + LOGGED
