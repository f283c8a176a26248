// The run report: one self-contained HTML page. Its inputs are every module output declared with
// `topic: report`, each with the report path it files under (`val(section)` beside the file: 'evaluate/plots'
// files scatter_CS13.png as evaluate/plots/scatter_CS13.png, in the evaluation section), whatever
// conf/modules.config does with the published copy.
process REPORT {
    tag "report"
    label 'process_single'
    container "stagevep:${workflow.manifest.version}"

    input:
    path samplesheet, stageAs: 'input/*'
    val params_json                                    // the resolved parameters, as JSON text
    path versions, stageAs: 'versions/*/versions.yml'  // every task's versions.yml
    val relpaths                                       // report path of each file in `outputs`: section/name
    path outputs, stageAs: 'outputs/*/*'

    output:
    path 'report.html', emit: html
    // not in the versions topic: REPORT reads that topic, so it cannot write to it
    path 'versions.yml', emit: versions

    script:
    reportCommand(samplesheet, params_json, versions, relpaths, outputs, task.process)

    stub:
    // the real report: it is cheap, and it must cope with the empty files of a -stub run
    reportCommand(samplesheet, params_json, versions, relpaths, outputs, task.process)
}

def reportCommand(samplesheet, params_json, versions, relpaths, outputs, process_name) {
    def versions_args = (versions instanceof List ? versions : [versions]).join(' ')
    def file_args = [relpaths, outputs instanceof List ? outputs : [outputs]].transpose()
        .collect { rel, f -> "--file '${rel}=${f}'" }.join(' ')
    """
    cat <<'END_OF_PARAMS' > params.json
    ${params_json}
    END_OF_PARAMS
    make_report.py --output report.html ${samplesheet ? "--samplesheet ${samplesheet}" : ''} --params params.json \\
        --nextflow-version ${workflow.nextflow.version} --versions ${versions_args} ${file_args}
    software_versions.py --process ${process_name} > versions.yml
    """
}
