package plan

import "strings"

// Words says what a plan's step does, for the progress a person watches: the step
// names (the temp tables the stage makes, "insert acct.sales_invoice") are the plan's
// own shorthand.
func Words(step string) string {
	switch step {
	case "c":
		return "selecting the records"
	case "lc":
		return "reading their lines"
	case "h":
		return "deriving the headers' fields"
	case "l":
		return "deriving the lines' fields"
	case "k":
		return "sorting the lines into kinds"
	case "seq":
		return "numbering the documents' lines"
	case "docs":
		return "splitting into documents"
	case "x":
		return "looking for documents already written"
	case "err", "bad", "xh", "xl", "chg":
		return "checking the rules"
	case "counts":
		return "counting"
	case "outcomes", "ids":
		return "recording what happened"
	case "transform":
		return "running the plugins"
	case "write":
		return "writing"
	case "commit":
		return "committing"
	}
	for prefix, words := range map[string]string{"r ": "reading ", "insert ": "writing ", "update ": "updating ", "link ": "recording the links in ",
		"write back ": "writing back to ", "mark errors ": "marking the failures in ", "export empty ": "marking as exported, with no document, in "} {
		if rest, ok := strings.CutPrefix(step, prefix); ok {
			return words + rest
		}
	}
	switch {
	case strings.HasPrefix(step, "free "):
		return "freeing memory"
	case len(step) > 1 && step[0] == 'o' && strings.Trim(step[1:], "0123456789") == "":
		return "mapping the documents' rows"
	}
	return step
}
