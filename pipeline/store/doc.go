// Package store knows where a tenant's records and documents live, and is the only
// place that does. The engine plans and stages in DuckDB, always; a store gives it that
// DuckDB database, brings the rows its plans read into it, and commits what a flow
// staged, with the run's history beside the documents:
//
//   - Local is one DuckDB file holding both schemas (the embedded default): plans read
//     the tables in place, and a flow's documents, write-back and history commit in one
//     transaction.
//   - Linked joins a source and a target that are not one DuckDB file (PostgreSQL, a
//     directory of files, two DuckDB files): the working database holds what the run
//     reads of them, and a flow is committed in two idempotent steps, the target first
//     (documents and history), then the source (write-back).
//
// Both keep the run history (schema connector, in the target).
package store
