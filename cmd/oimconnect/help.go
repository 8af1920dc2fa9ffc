package main

import (
	"fmt"
	"io"
	"strings"
)

// width is where help text wraps.
const width = 80

const intro = `oimconnect exports Order and Inventory Management (OIM) records into Accounting
documents: invoices to sales invoices, vouchers to payable invoices, and more, as
declared by flow specs.`

// exitStatuses is the README's exit status table.
var exitStatuses = [][2]string{
	{"0", "every selected record was exported"},
	{"1", "some records failed: they carry Export Error and the reason (test: a spec test failed)"},
	{"2", "usage, configuration, spec or database layout error: nothing was written"},
	{"3", "the run failed midway (a database error, or a database lost or refusing connections after earlier batches or flows committed): the failing flow's batch in progress was rolled back; earlier batches and flows stay committed"},
	{"4", "a database is unavailable: the DuckDB file is in use by another process (another run, or OIM writing to it), or a PostgreSQL server cannot be reached after the connector's own retries, or its database does not allow connections now; nothing was written, a scheduler may try again later"},
}

// overview is `oimconnect help`: the commands, one line each, and the exit statuses.
func overview(w io.Writer) {
	fmt.Fprintf(w, "%s\n\nUsage:\n  oimconnect COMMAND [FLAGS]\n\nCommands:\n", intro)
	for _, c := range commands {
		writeItem(w, c.name, c.summary, 12)
	}
	fmt.Fprint(w, "\n`oimconnect help COMMAND` or `oimconnect COMMAND --help` shows a command's flags\nand examples. Start with `oimconnect demo`, then `oimconnect run --db FILE`.\n\n")
	fmt.Fprint(w, wrap("Configuration layers, later wins: the contract's defaults, the YAML file given by --config, OIMCONNECT_* environment variables (OIMCONNECT_DB, OIMCONNECT_SETTINGS__TAX_SUMMARY_LINE=true: a double underscore steps into a section), then flags.", "", width))
	fmt.Fprint(w, "\n")
	exitTable(w)
}

// exitTable writes the exit statuses.
func exitTable(w io.Writer) {
	fmt.Fprint(w, "Exit status:\n")
	for _, s := range exitStatuses {
		writeItem(w, s[0], s[1], 3)
	}
}

// page is a command's help: what it does, its flags, plugins, examples.
func page(w io.Writer, c *command) {
	fmt.Fprintf(w, "%s\n%s\n", wrap("oimconnect "+c.name+": "+c.summary, "", width), wrap(c.about, "", width))
	usage(w, c)
	if c.plugins != "" {
		fmt.Fprintf(w, "\n%s", wrap(c.plugins, "", width))
	}
	fmt.Fprint(w, "\nExamples:\n")
	for _, e := range c.examples {
		fmt.Fprintf(w, "  %s\n", e)
	}
	fmt.Fprint(w, "\nExit status: 0 all exported, 1 some records failed, 2 usage or configuration\nerror, 3 failed midway, 4 database busy or unreachable (`oimconnect help`).\n")
}

// usage is a command's synopsis and flags: what a refused command line gets.
func usage(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage:\n  oimconnect %s\n\n", c.synopsis)
	if c.arg != "" {
		fmt.Fprintf(w, "Arguments:\n")
		meaning := c.argMeaning
		if meaning == "" {
			meaning = "the spec directory (the same as --specs)"
		}
		writeItem(w, c.arg, meaning, 24)
		fmt.Fprintln(w)
	}
	fmt.Fprint(w, "Flags:\n")
	for _, f := range c.flags {
		info := flagInfos[f.name]
		meaning := info.meaning
		if f.meaning != "" {
			meaning = f.meaning
		}
		name := "--" + f.name
		if info.arg != "" {
			name += " " + info.arg
		}
		writeItem(w, name, meaning, 24)
	}
	writeItem(w, "-h, --help", "this help", 24)
}

// writeItem writes "  name  text", the text wrapped and indented to column.
func writeItem(w io.Writer, name, text string, column int) {
	indent := strings.Repeat(" ", column+2)
	lead := "  " + name
	if len(lead) < column+2 {
		lead += strings.Repeat(" ", column+2-len(lead))
	} else {
		lead += "\n" + indent
	}
	body := wrap(text, indent, width)
	fmt.Fprint(w, lead+strings.TrimPrefix(body, indent))
}

// wrap fills text into lines of at most width characters, each starting with indent.
func wrap(text, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, word := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	b.WriteString(line + "\n")
	return b.String()
}
