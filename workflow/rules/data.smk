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
        " {params.source} --split-seed {params.split_seed} {params.skip_corrupt} --threads {threads} > {log} 2>&1"
