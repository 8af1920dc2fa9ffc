// Command specdoc regenerates the spec tooling from the Go spec types: the JSON Schemas
// editors use to complete and check spec files (flow.schema.json, model.schema.json) and
// the spec reference (REFERENCE.md). Run it from the repository root after changing
// pipeline/spec/spec.go or the transforms:
//
//	go run ./cmd/specdoc [-dir specs]
//
// The tests of pipeline/spec fail while the checked-in files differ from what it writes.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/oimconnect/oimconnect/pipeline/compile"
	"github.com/oimconnect/oimconnect/pipeline/spec"
	_ "github.com/oimconnect/oimconnect/transforms" // the built-in functions
)

func main() {
	dir := flag.String("dir", "specs", "the spec directory to write the files into")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "specdoc:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	var functions []spec.FunctionDoc
	for _, f := range compile.Functions() {
		functions = append(functions, spec.FunctionDoc{Name: f.Name, Args: f.Args, Doc: f.Doc})
	}
	files, err := spec.Generated(functions)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", path)
	}
	return nil
}
