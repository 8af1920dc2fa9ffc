package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// A run that writes a few records into a large DuckDB file spends more on checkpoints
// than on its work: a checkpoint rewrites the row groups and the key indexes of every
// table the run changed (measured: half a second after ten invoices into a file of a
// million), and DuckDB checkpoints when a connection closes. So a run leaves its commits
// in the write-ahead log, which the next open replays (milliseconds for a small log),
// and checkpoints only when the log has grown past walLimit.
//
// The log must not be appended to after a torn tail (DuckDB 1.1; see checkpoint), and a
// log is torn only by a crash. So a run that closes the file cleanly notes the size and
// modification time of the file and its log beside it (<file>.oimconnect); the next
// open checkpoints unless both are exactly as noted, that is, unless someone else wrote
// the file since, or the last run did not close it.
const walLimit = 16 << 20

// fileState is a DuckDB file's and its log's size and modification time.
type fileState struct {
	Size, WALSize   int64
	MTime, WALMTime time.Time
}

func stateOf(path string) fileState {
	var s fileState
	if st, err := os.Stat(path); err == nil {
		s.Size, s.MTime = st.Size(), st.ModTime()
	}
	if st, err := os.Stat(path + ".wal"); err == nil {
		s.WALSize, s.WALMTime = st.Size(), st.ModTime()
	}
	return s
}

func sidecar(path string) string { return path + ".oimconnect" }

// CleanSince reports whether the DuckDB file and its log are exactly as the last run
// that closed them cleanly left them: nobody has written the file since.
func CleanSince(path string) bool {
	data, err := os.ReadFile(sidecar(path))
	if err != nil {
		return false
	}
	var noted fileState
	if json.Unmarshal(data, &noted) != nil {
		return false
	}
	now := stateOf(path)
	return now.Size == noted.Size && now.WALSize == noted.WALSize && now.MTime.Equal(noted.MTime) && now.WALMTime.Equal(noted.WALMTime)
}

// needsCheckpoint reports whether a file must be checkpointed at open: it has a log
// that a clean close of ours did not leave.
func needsCheckpoint(path string) bool {
	if st, err := os.Stat(path + ".wal"); err != nil || st.Size() == 0 {
		return false
	}
	return !CleanSince(path)
}

// closeFile closes a DuckDB file without a checkpoint while its log is small, and
// notes the file's state for the next open.
func closeFile(ctx context.Context, db *sql.DB, path string) error {
	_ = os.Remove(sidecar(path)) // until the close is done, the state is unknown
	if st, err := os.Stat(path + ".wal"); err == nil && st.Size() > walLimit {
		if _, err := db.ExecContext(ctx, "CHECKPOINT"); err != nil {
			db.Close()
			return fmt.Errorf("close %s: %w", path, err)
		}
	}
	if err := closeUnchanged(ctx, db, path); err != nil {
		return err
	}
	data, err := json.Marshal(stateOf(path))
	if err == nil {
		err = os.WriteFile(sidecar(path), data, 0o644)
	}
	if err != nil {
		return fmt.Errorf("note the state of %s: %w", path, err)
	}
	return nil
}

// closeUnchanged closes a DuckDB database without a checkpoint. A run that wrote nothing
// leaves the files as it found them (a log someone else left stays for the next run
// that writes, which folds it in) and notes nothing: the note of the last run that
// wrote them holds still, or, if the file changed after all, no longer matches and the
// next run checkpoints. closeFile notes the state after it.
func closeUnchanged(ctx context.Context, db *sql.DB, name string) error {
	if _, err := db.ExecContext(ctx, "PRAGMA disable_checkpoint_on_shutdown"); err != nil {
		db.Close()
		return fmt.Errorf("close %s: %w", name, err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("close %s: %w", name, err)
	}
	return nil
}
