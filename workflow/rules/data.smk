# Data: download (or copy from a local source) and split, once per data set.


rule prepare_data:
    output:
        artifact("splits"),
    params:
        kind=lambda w: config["datasets"][w.dataset]["kind"],
        source=lambda w: option("--source", config["datasets"][w.dataset]["source"]),
        split_seed=lambda w: config["datasets"][w.dataset]["split_seed"],
        skip_corrupt=lambda w: "--skip-corrupt" if config["datasets"][w.dataset]["skip_corrupt"] else "",
    log:
        "logs/data/{dataset}.log",
    benchmark:
        "logs/benchmarks/data/{dataset}.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens prepare-data --dataset {params.kind} --root $(dirname {output})"
        " {params.source} --split-seed {params.split_seed} {params.skip_corrupt} --threads {threads} " + LOGGED


rule spectrum:
    # MACO's magnitude spectrum, from the training images, at the largest render size of the data set's experiments.
    input:
        artifact("splits"),
    output:
        artifact("spectrum"),
    params:
        size=lambda w: max(exp["visualize"]["size"] for exp in config["experiments"].values()
                           if exp.get("dataset") == w.dataset),
    log:
        "logs/data/{dataset}_spectrum.log",
    benchmark:
        "logs/benchmarks/data/{dataset}_spectrum.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens spectrum --splits {input} --size {params.size} --no-progress -o {output} --threads {threads} " + LOGGED
