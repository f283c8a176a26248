process ATTRIBUTE_VARIANTS {
    tag "${meta.id}"
    label 'process_gpu'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(checkpoint), path(scores)
    tuple path(fasta), path(fai)

    output:
    path 'variants/attribution/*.h5', emit: h5, optional: true
    path 'variants/attribution/*.{png,pdf}', emit: plots, optional: true, topic: report
    path 'versions.yml', emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    attribute_variants.py --checkpoint ${checkpoint} --fasta ${fasta} --scores ${scores} \\
        --out-dir variants/attribution ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    mkdir -p variants/attribution
    touch variants/attribution/stub.h5 variants/attribution/stub.png
    software_versions.py --process ${task.process} > versions.yml
    """
}
