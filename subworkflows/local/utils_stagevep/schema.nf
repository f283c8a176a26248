// nextflow_schema.json read by the pipeline: its parameters flattened, and the --help text drawn from it

import groovy.json.JsonSlurper

// Flattened {name: definition} of every parameter in nextflow_schema.json
def schemaParams(schema_path) {
    def schema = new JsonSlurper().parse(new File(schema_path.toString()))
    def defs = [:]
    (schema.'$defs' ?: schema.definitions ?: [:]).each { _group, group ->
        group.properties.each { name, spec -> defs[name] = spec + [required: name in (group.required ?: [])] }
    }
    return defs
}

// 'max-steps' and 'maxSteps' -> 'max_steps'
def snakeName(String name) {
    return name.replace('-', '_').replaceAll(/([a-z0-9])([A-Z])/, '$1_$2').toLowerCase()
}

def helpMessage(schema_path) {
    def schema = new JsonSlurper().parse(new File(schema_path.toString()))
    def lines = ["", "Usage: nextflow run main.nf --input samplesheet.csv --fasta genome.fa --outdir results [options]",
                 "       nextflow run main.nf --checkpoint best.pt --fasta genome.fa --variants variants.vcf.gz --outdir results [options]", ""]
    (schema.'$defs' ?: [:]).each { _group, group ->
        lines << "${group.title}:"
        group.properties.each { name, spec ->
            def dflt = spec.default != null ? " [default: ${spec.default}]" : ''
            def req = name in (group.required ?: []) ? ' (required)' : ''
            lines << "  --${name.padRight(22)} ${spec.description}${req}${dflt}"
        }
        lines << ""
    }
    return lines.join('\n')
}
