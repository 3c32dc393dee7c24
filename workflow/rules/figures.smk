# Figures: grids of the visualisations, the change plot and the training curves.


rule merged_grid:
    input:
        rows=lambda w: [artifact("render", w.exp, e, w.layer) for e in visual_epochs(w.exp)],
        change=lambda w: artifact("change", w.exp, layer=w.layer),
        screen=lambda w: artifact("screen", w.exp, layer=w.layer),
    output:
        report(artifact("merged"), caption="../report/merged.rst", category="{exp}",
               subcategory="{layer}"),
    log:
        "logs/{exp}/{layer}/merged.log",
    benchmark:
        "logs/benchmarks/{exp}/{layer}/merged.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens grid --rows {input.rows} --change {input.change} --screen {input.screen} -o {output}"
        " --threads {threads} " + LOGGED


rule exemplars:
    input:
        probe=lambda w: artifact("probe", w.exp),
        rows=lambda w: [artifact("render", w.exp, e, w.layer) for e in (0, last_epoch(w.exp))],
        responses=lambda w: [artifact("probe_responses", w.exp, e) for e in (0, last_epoch(w.exp))],
    output:
        report(artifact("exemplars"), caption="../report/exemplars.rst", category="{exp}",
               subcategory="{layer}"),
    log:
        "logs/{exp}/{layer}/exemplars.log",
    benchmark:
        "logs/benchmarks/{exp}/{layer}/exemplars.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens exemplars --probe {input.probe} --rows {input.rows} --responses {input.responses}"
        " -o {output} --threads {threads} " + LOGGED


rule before_after:
    input:
        lambda w: [artifact("render", w.exp, e, layer) for layer in layers(w.exp) for e in (0, last_epoch(w.exp))],
    output:
        report(artifact("before_after"), caption="../report/before_after.rst", category="{exp}"),
    log:
        "logs/{exp}/before_after.log",
    benchmark:
        "logs/benchmarks/{exp}/before_after.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens grid --rows {input} --label-layers -o {output} --threads {threads} " + LOGGED


rule change_plot:
    input:
        change=lambda w: [artifact("change", w.exp, layer=layer) for layer in layers(w.exp)],
        representation=lambda w: [artifact("representation", w.exp, e) for e in visual_epochs(w.exp)],
        metrics=lambda w: metrics_files(w.exp),
        attribution=lambda w: attribution_drift_table(w.exp),
    output:
        report(artifact("change_plot"), caption="../report/change.rst", category="{exp}"),
    params:
        change=lambda w, input: layer_args(w.exp, layers(w.exp), input.change),
        attribution=lambda w, input: option("--attribution-drift", " ".join(input.attribution)),
    log:
        "logs/{exp}/change.log",
    benchmark:
        "logs/benchmarks/{exp}/change.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens plot-change --change {params.change} --representation {input.representation}"
        " --metrics {input.metrics} {params.attribution} -o {output} --threads {threads} " + LOGGED


rule depth_plot:
    input:
        screens=lambda w: [artifact("screen", w.exp, layer=layer) for layer in screen_layers(w.exp)],
        representation=lambda w: [artifact("representation", w.exp, e) for e in all_epochs(w.exp)],
        metrics=lambda w: metrics_files(w.exp),
    output:
        report(artifact("depth"), caption="../report/depth.rst", category="{exp}"),
    params:
        screens=lambda w, input: layer_args(w.exp, screen_layers(w.exp), input.screens),
    log:
        "logs/{exp}/depth.log",
    benchmark:
        "logs/benchmarks/{exp}/depth.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens plot-depth --screen {params.screens} --representation {input.representation}"
        " --metrics {input.metrics} -o {output} --threads {threads} " + LOGGED


rule training_plot:
    input:
        lambda w: metrics_files(w.exp),
    output:
        report(artifact("training_plot"), caption="../report/training.rst", category="{exp}"),
    log:
        "logs/{exp}/training.log",
    benchmark:
        "logs/benchmarks/{exp}/training.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens plot-training --metrics {input} -o {output} --threads {threads} " + LOGGED


rule report_page:
    input:
        frames=lambda w: [artifact("render_png", w.exp, e, layer) for layer in layers(w.exp) for e in visual_epochs(w.exp)],
        merged=lambda w: [artifact("merged", w.exp, layer=layer) for layer in layers(w.exp)],
        exemplars=lambda w: [artifact("exemplars", w.exp, layer=layer) for layer in layers(w.exp)],
        change=lambda w: [artifact("change", w.exp, layer=layer) for layer in layers(w.exp)],
        before_after=artifact("before_after"),
        change_plot=artifact("change_plot"),
        training_plot=lambda w: training_figures(w.exp),
        depth_plot=artifact("depth"),
        screens=lambda w: [artifact("screen", w.exp, layer=layer) for layer in screen_layers(w.exp)],
        volcanoes=lambda w: [artifact("volcano", w.exp, layer=layer) for layer in screen_layers(w.exp)],
        representation=lambda w: [artifact("representation", w.exp, e) for e in all_epochs(w.exp)],
        features=lambda w: [artifact("features_summary", w.exp, layer=layer) for layer in layers(w.exp)]
        if features_on(w.exp) else [],
        feature_figures=lambda w: [artifact("features_png", w.exp, layer=layer) for layer in layers(w.exp)]
        if features_on(w.exp) else [],
        metrics=lambda w: [artifact("metrics", w.exp, e) for e in visual_epochs(w.exp)],
        config=artifact("config"),
        attribution=lambda w: [artifact("attribution_grid", w.exp)] if attribution_on(w.exp) else [],
    output:
        report(artifact("report"), caption="../report/report.rst", category="{exp}"),
    params:
        layers=lambda w: layer_args(w.exp, layers(w.exp)).replace(" ", ","),
        epochs=lambda w: ",".join(map(str, visual_epochs(w.exp))),
        attribution=lambda w, input: option("--attribution-grid", " ".join(input.attribution)),
        screens=lambda w, input: layer_args(w.exp, screen_layers(w.exp), input.screens),
        volcanoes=lambda w, input: layer_args(w.exp, screen_layers(w.exp), input.volcanoes),
        features=lambda w, input: option_list("--features", layer_args(w.exp, layers(w.exp), input.features)
                                              if input.features else ""),
        feature_figures=lambda w, input: option_list("--feature-figures", layer_args(w.exp, layers(w.exp),
                                                                                     input.feature_figures)
                                                     if input.feature_figures else ""),
        training_plot=lambda w, input: option("--training-plot", "".join(input.training_plot)),
    log:
        "logs/{exp}/report.log",
    benchmark:
        "logs/benchmarks/{exp}/report.tsv"
    conda:
        "../../envs/driftlens.yaml"
    shell:
        "driftlens report --title {wildcards.exp} --layers {params.layers} --epochs {params.epochs}"
        " --frames {input.frames} --merged {input.merged} --exemplars {input.exemplars} --change {input.change}"
        " --before-after {input.before_after} --change-plot {input.change_plot}"
        " {params.training_plot} --depth-plot {input.depth_plot} --screens {params.screens}"
        " --volcanoes {params.volcanoes} --representation {input.representation} {params.features}"
        " {params.feature_figures}"
        " --metrics {input.metrics} --config {input.config}"
        " {params.attribution} --benchmarks logs/benchmarks/{wildcards.exp} -o {output} --threads {threads}"
        " " + LOGGED
