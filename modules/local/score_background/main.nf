// The calibration background of one model: scored once, then found in storeDir (conf/modules.config) by every
// later run with the same checkpoint and scoring settings (meta.key names them).
process SCORE_BACKGROUND {
    tag "${meta.key}"
    label 'process_gpu'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(checkpoint)
    tuple path(fasta), path(fai)

    output:
    tuple val(meta), path("background_${meta.key}.parquet"), path("background_${meta.key}.json"), emit: background
    // kept with the background it describes (storeDir keeps every output): the tools that scored it
    path "background_${meta.key}.versions.yml", emit: versions, topic: versions

    script:
    def args = task.ext.args ?: ''
    """
    score_background.py --checkpoint ${checkpoint} --fasta ${fasta} --out background_${meta.key}.parquet ${args}
    software_versions.py --process ${task.process} > background_${meta.key}.versions.yml
    """

    stub:
    """
    touch background_${meta.key}.parquet background_${meta.key}.json
    software_versions.py --process ${task.process} > background_${meta.key}.versions.yml
    """
}
