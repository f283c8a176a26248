// Input validation without plugins (nf-schema cannot be installed offline).
// Everything here runs before any task is submitted.

import groovy.json.JsonSlurper
import groovy.json.JsonOutput

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

def validateParameters(params, schema_path) {
    def defs = schemaParams(schema_path)
    def errors = []
    params.each { key, value ->
        def name = snakeName(key.toString())
        if (!defs.containsKey(name)) {
            if (key == name) errors << "unknown parameter --${key} (see --help for the list)"
            return
        }
        if (key != name) {
            // Nextflow keeps '--max-steps' as params['max-steps'] and params.maxSteps, never max_steps:
            // the value would be ignored. The camelCase twin of a hyphenated option is reported once.
            def hyphenated = key.replaceAll(/([A-Z])/) { all, c -> '-' + c.toLowerCase() }
            if (key.contains('-') || !params.containsKey(hyphenated)) {
                errors << "--${key} is not read by the pipeline: write --${name}"
            }
            return
        }
        def spec = defs[name]
        if (value == null || value == '') {
            // a profile or -params-file that blanks a parameter with a default (test_full: the weights); free-text
            // strings may be blank ('' means none, e.g. --exclude_chroms '') unless the schema sets minLength
            def blankable = spec.type == 'string' && !spec.enum && !spec.minLength
            if (spec.default != null && spec.default != '' && !spec.required && !blankable) {
                errors << "--${name} needs a value: ${spec.description}"
            }
            return
        }
        switch (spec.type) {
            case 'integer':
                if (!(value instanceof Integer || value instanceof Long)) errors << "--${name} must be an integer, got '${value}'"
                break
            case 'number':
                // the command line leaves '1e-4' as a string
                if (!(value instanceof Number || (value instanceof String && value.isBigDecimal()))) {
                    errors << "--${name} must be a number, got '${value}'"
                }
                break
            case 'boolean':
                if (!(value instanceof Boolean)) errors << "--${name} must be true or false, got '${value}'"
                break
            default:
                if (value instanceof Boolean) errors << "--${name} needs a value"
        }
        if (spec.enum && !(value.toString() in spec.enum*.toString())) {
            errors << "--${name} must be one of ${spec.enum.join(', ')}, got '${value}'"
        }
        def number = value.toString().isBigDecimal() ? value.toString().toBigDecimal() : null
        if (spec.minimum != null && number != null && number < spec.minimum) {
            errors << "--${name} must be >= ${spec.minimum}, got ${value}"
        }
        if (spec.maximum != null && number != null && number > spec.maximum) {
            errors << "--${name} must be <= ${spec.maximum}, got ${value}"
        }
        if (spec.pattern && value instanceof CharSequence && !(value ==~ spec.pattern)) {
            errors << "--${name} '${value}' does not match ${spec.pattern}${spec.pattern_help ? ' (' + spec.pattern_help + ')' : ''}"
        }
        if (spec.format == 'file-path' && value instanceof CharSequence && !(value ==~ /^[a-z0-9]+:\/\/.*/)
                && !file(value.toString()).exists()) {
            errors << "--${name}: file not found: ${value}"
        }
    }
    defs.findAll { name, spec -> spec.required && !params[name] }.each { name, spec ->
        errors << "missing required parameter --${name}: ${spec.description}"
    }
    if (params.motif_database && !(params.motif_database.toString() ==~ /(?i)jaspar(\d{4})?/)
            && !file(params.motif_database.toString()).exists()) {
        errors << "--motif_database: not found: ${params.motif_database} (a MEME file, or 'jaspar' for the JASPAR database bundled with pyjaspar)"
    }
    if (params.pretrained_weights && params.pretrained_weights != 'none' && !file(params.pretrained_weights.toString()).exists()) {
        errors << "--pretrained_weights: not found: ${params.pretrained_weights} (a local copy of the official Enformer weights, or 'none')"
    }
    // the two modes: train from a samplesheet, or score with a trained model
    if (params.checkpoint && params.input) {
        log.warn "--checkpoint given: a score-only run, the samplesheet ${params.input} is not read (observed signal " +
            "for the variant panels comes from --bigwigs STAGE=FILE,...)"
    } else if (!params.checkpoint && !params.input) {
        errors << "missing required parameter --input: ${defs.input.description} (or --checkpoint best.pt to score variants with a trained model)"
    }
    if (params.checkpoint && !params.variants) {
        errors << "--checkpoint needs --variants: a score-only run scores a VCF or TSV of variants"
    }
    if (params.bigwigs && !params.checkpoint) {
        errors << "--bigwigs is for score-only runs (--checkpoint); training runs take the bigWigs from the samplesheet"
    }
    if (errors) {
        error("Invalid parameters:\n  * " + errors.join('\n  * '))
    }
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

// Read and validate the samplesheet. Returns a list of [meta, bigwig, peaks].
// Relative paths are resolved against the samplesheet's own directory. Every problem is reported at once,
// each with its row (the line number in the file) and column.
def readSamplesheet(String path, schema_path) {
    def sheet = file(path)
    if (!sheet.exists()) error("Samplesheet not found: ${path}")
    def items = new JsonSlurper().parse(new File(schema_path.toString())).items
    def spec = items.properties
    def required = items.required as List
    def columns = required.join(',')
    // [line number, text] of every line that is not blank or a comment
    def lines = []
    sheet.readLines().eachWithIndex { text, i -> if (text.trim() && !text.startsWith('#')) lines << [i + 1, text] }
    if (!lines) error("Samplesheet ${path} is empty: it needs the header '${columns}' and one row per replicate")
    def header = lines[0][1].split(',', -1)*.trim()*.replaceAll(/^"|"$/, '')
    def missing = required.findAll { !(it in header) }
    if (missing) {
        error("Samplesheet ${path}: missing column(s) ${missing.join(', ')} in the header (row ${lines[0][0]}); the header must contain ${columns}")
    }
    if (lines.size() == 1) error("Samplesheet ${path} has a header but no rows: add one row per replicate")
    def rows = []
    def errors = []
    def seen = [:]
    lines.drop(1).each { rowno, line ->
        def fields = line.split(',', -1)*.trim()*.replaceAll(/^"|"$/, '')
        if (fields.size() != header.size()) {
            errors << "row ${rowno}: ${fields.size()} fields but the header has ${header.size()} (${header.join(',')})"
            return
        }
        def rec = [header, fields].transpose().collectEntries { it }
        def names_ok = true
        ['stage', 'replicate'].each { col ->
            if (!(rec[col] ==~ spec[col].pattern)) {
                errors << "row ${rowno}, column '${col}': '${rec[col]}' ${spec[col].errorMessage}"
                names_ok = false
            }
        }
        def key = "${rec.stage}/${rec.replicate}".toString()  // a GString key never equals a String key
        if (names_ok && seen.containsKey(key)) {
            errors << "row ${rowno}, columns 'stage','replicate': duplicate (stage, replicate) = (${rec.stage}, ${rec.replicate}), first seen on row ${seen[key]}"
        }
        seen[key] = seen[key] ?: rowno
        def bigwig = resolveInput(sheet, rec.bigwig, rowno, 'bigwig', spec.bigwig.extensions, errors)
        def peaks  = resolveInput(sheet, rec.peaks, rowno, 'peaks', spec.peaks.extensions, errors)
        rows << [[id: "${rec.stage}_${rec.replicate}", stage: rec.stage, replicate: rec.replicate], bigwig, peaks]
    }
    if (errors) {
        error("Samplesheet ${path}: ${errors.size()} problem(s)\n  * " + errors.join('\n  * '))
    }
    return rows
}

// The file named in one samplesheet cell, or null after adding the problem to `errors`
def resolveInput(sheet, String value, int rowno, String column, List extensions, List errors) {
    if (!value) {
        errors << "row ${rowno}, column '${column}': empty"
        return null
    }
    if (!extensions.any { value.toLowerCase().endsWith(it) }) {
        errors << "row ${rowno}, column '${column}': '${value}' has an unknown extension; expected one of ${extensions.join(', ')}"
        return null
    }
    def f = (value.startsWith('/') || value.contains('://')) ? file(value) : file(sheet.parent.resolve(value).toString())
    if (!f.exists()) {
        errors << "row ${rowno}, column '${column}': file not found: ${f}"
        return null
    }
    return f
}

def stageOrder(rows) {
    return rows.collect { it[0].stage }.unique()
}

def writeParams(params, outdir) {
    def dir = file("${outdir}/pipeline_info")
    dir.mkdirs()
    def stamp = new java.util.Date().format('yyyy-MM-dd_HH-mm-ss')
    file("${dir}/params_${stamp}.json").text = JsonOutput.prettyPrint(JsonOutput.toJson(params))
}
