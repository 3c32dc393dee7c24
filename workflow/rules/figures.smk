# Figures: grids of the visualisations, the change plot and the training curves.


rule merged_grid:
    input:
        lambda w: [f"results/{w.exp}/{w.layer}/epoch_{tag(e)}.npz" for e in visual_epochs(w.exp)],
    output:
        report("results/{exp}/{layer}/merged.png", caption="../report/merged.rst", category="{exp}",
               subcategory="{layer}"),
    log:
        "logs/{exp}/{layer}/merged.log",
    benchmark:
        "logs/benchmarks/{exp}/{layer}/merged.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens grid --rows {input} -o {output} > {log} 2>&1"


rule before_after:
    input:
        lambda w: [f"results/{w.exp}/{layer}/epoch_{tag(e)}.npz"
                   for layer in experiment(w.exp)["visualize"]["layers"] for e in (0, last_epoch(w.exp))],
    output:
        report("results/{exp}/before_after.png", caption="../report/before_after.rst", category="{exp}"),
    log:
        "logs/{exp}/before_after.log",
    benchmark:
        "logs/benchmarks/{exp}/before_after.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens grid --rows {input} --label-layers -o {output} > {log} 2>&1"


rule change_plot:
    input:
        similarity=lambda w: [f"results/{w.exp}/{layer}/similarity.csv"
                              for layer in experiment(w.exp)["visualize"]["layers"]],
        representation=lambda w: [f"results/{w.exp}/representation/epoch_{tag(e)}.json"
                                  for e in visual_epochs(w.exp)],
        metrics=lambda w: metrics_files(w.exp),
        attribution=lambda w: attribution_drift_table(w.exp),
    output:
        report("results/{exp}/change.png", caption="../report/change.rst", category="{exp}"),
    params:
        similarity=lambda w, input: " ".join(
            f"{layer}={path}" for layer, path in zip(experiment(w.exp)["visualize"]["layers"], input.similarity)
        ),
        attribution=lambda w, input: option("--attribution-drift", " ".join(input.attribution)),
    log:
        "logs/{exp}/change.log",
    benchmark:
        "logs/benchmarks/{exp}/change.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens plot-change --similarity {params.similarity} --representation {input.representation}"
        " --metrics {input.metrics} {params.attribution} -o {output} > {log} 2>&1"


rule training_plot:
    input:
        lambda w: metrics_files(w.exp),
    output:
        report("results/{exp}/training.png", caption="../report/training.rst", category="{exp}"),
    log:
        "logs/{exp}/training.log",
    benchmark:
        "logs/benchmarks/{exp}/training.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens plot-training --metrics {input} -o {output} > {log} 2>&1"


rule report_page:
    input:
        epochs=lambda w: [f"results/{w.exp}/{layer}/epoch_{tag(e)}.png"
                          for layer in experiment(w.exp)["visualize"]["layers"] for e in visual_epochs(w.exp)],
        grids=lambda w: [f"results/{w.exp}/{layer}/{name}" for layer in experiment(w.exp)["visualize"]["layers"]
                         for name in ("merged.png", "similarity.csv")],
        figures=expand("results/{{exp}}/{name}.png", name=["before_after", "change", "training"]),
        metrics=lambda w: [f"results/{w.exp}/metrics/epoch_{tag(e)}.json" for e in visual_epochs(w.exp)],
        config="results/{exp}/config.json",
        attribution=lambda w: attribution_figures(w.exp),
    output:
        report("results/{exp}/report.html", caption="../report/report.rst", category="{exp}"),
    params:
        layers=lambda w: ",".join(experiment(w.exp)["visualize"]["layers"]),
        epochs=lambda w: ",".join(map(str, visual_epochs(w.exp))),
    log:
        "logs/{exp}/report.log",
    benchmark:
        "logs/benchmarks/{exp}/report.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens report --exp-dir results/{wildcards.exp} --layers {params.layers} --epochs {params.epochs}"
        " -o {output} > {log} 2>&1"
