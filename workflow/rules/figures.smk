# Figures: grids of the visualisations, the change plot and the training curves.


rule merged_grid:
    input:
        rows=lambda w: [render_row(w.exp, w.layer, e) for e in visual_epochs(w.exp)],
        change=lambda w: change_table(w.exp, w.layer),
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
        "driftlens grid --rows {input.rows} --change {input.change} -o {output} > {log} 2>&1"


rule exemplars:
    input:
        probe=lambda w: probe_file(w.exp),
        rows=lambda w: [render_row(w.exp, w.layer, e) for e in (0, last_epoch(w.exp))],
        responses=lambda w: [responses_file(w.exp, e) for e in (0, last_epoch(w.exp))],
    output:
        report("results/{exp}/{layer}/exemplars.png", caption="../report/exemplars.rst", category="{exp}",
               subcategory="{layer}"),
    log:
        "logs/{exp}/{layer}/exemplars.log",
    benchmark:
        "logs/benchmarks/{exp}/{layer}/exemplars.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens exemplars --probe {input.probe} --rows {input.rows} --responses {input.responses}"
        " -o {output} > {log} 2>&1"


rule before_after:
    input:
        lambda w: [render_row(w.exp, layer, e) for layer in layers(w.exp) for e in (0, last_epoch(w.exp))],
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
        change=lambda w: [change_table(w.exp, layer) for layer in layers(w.exp)],
        representation=lambda w: [representation_file(w.exp, e) for e in visual_epochs(w.exp)],
        metrics=lambda w: metrics_files(w.exp),
        attribution=lambda w: attribution_drift_table(w.exp),
    output:
        report("results/{exp}/change.png", caption="../report/change.rst", category="{exp}"),
    params:
        change=lambda w, input: " ".join(f"{layer}={path}" for layer, path in zip(layers(w.exp), input.change)),
        attribution=lambda w, input: option("--attribution-drift", " ".join(input.attribution)),
    log:
        "logs/{exp}/change.log",
    benchmark:
        "logs/benchmarks/{exp}/change.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens plot-change --change {params.change} --representation {input.representation}"
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
        epochs=lambda w: [render_row(w.exp, layer, e, "png") for layer in layers(w.exp) for e in visual_epochs(w.exp)],
        grids=lambda w: [f"results/{w.exp}/{layer}/{name}.png" for layer in layers(w.exp)
                         for name in ("merged", "exemplars")],
        change=lambda w: [change_table(w.exp, layer) for layer in layers(w.exp)],
        figures=expand("results/{{exp}}/{name}.png", name=["before_after", "change", "training"]),
        metrics=lambda w: [f"results/{w.exp}/metrics/epoch_{tag(e)}.json" for e in visual_epochs(w.exp)],
        config="results/{exp}/config.json",
        attribution=lambda w: attribution_figures(w.exp),
    output:
        report("results/{exp}/report.html", caption="../report/report.rst", category="{exp}"),
    params:
        layers=lambda w: ",".join(layers(w.exp)),
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
