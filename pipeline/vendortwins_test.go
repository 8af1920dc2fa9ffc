package pipeline_test

import (
	"testing"

	"github.com/oimconnect/oimconnect/pipeline"
	"github.com/oimconnect/oimconnect/pipeline/config"
	"github.com/oimconnect/oimconnect/pipeline/fixture"
)

// Two new supplier sites of one name (trimmed, any case) share one new vendor account
// with the name duplicate check, and get one each without it.
func TestVendorAccountsNewSitesOfOneName(t *testing.T) {
	t.Parallel()
	const twins = `INSERT INTO oim.supplier_site (id, name, updated_at) VALUES
		('SS-TWIN-1', 'Twin Metals', '2024-05-01'), ('SS-TWIN-2', ' twin metals ', '2024-05-02')`
	for _, c := range []struct {
		check    string
		accounts []string
		links    []string
		docs     int64
	}{
		{"name", []string{"VND-SS-TWIN-1\tTwin Metals"}, []string{"SS-TWIN-1\tVND-SS-TWIN-1", "SS-TWIN-2\tVND-SS-TWIN-1"}, 1},
		{"none", []string{"VND-SS-TWIN-1\tTwin Metals", "VND-SS-TWIN-2\t twin metals "}, []string{"SS-TWIN-1\tVND-SS-TWIN-1", "SS-TWIN-2\tVND-SS-TWIN-2"}, 2},
	} {
		e := engine(t, fixture.DB(t), func(cfg *config.Config) { cfg.Settings.VendorDuplicateCheck = c.check })
		execSQL(t, e.DB(), twins)
		s := run(t, e, pipeline.Request{Flows: []string{"vendor-accounts"}})[0]
		if s.Selected != 2 || s.Exported != 2 || s.Documents != c.docs {
			t.Errorf("%s: summary %v", c.check, s)
		}
		wantRows(t, e.DB(), "SELECT id, name FROM acct.account ORDER BY id", c.accounts...)
		wantRows(t, e.DB(), "SELECT id, account_id FROM oim.supplier_site ORDER BY id", c.links...)
		// With one shared account, the newer twin is newer than the account: the next run
		// updates it once (as a linked site newer than its account), then all is still.
		updates := int64(0)
		if c.check == "name" {
			updates = 1
		}
		if again := run(t, e, pipeline.Request{Flows: []string{"vendor-accounts"}})[0]; again.Selected != updates || again.Documents != updates {
			t.Errorf("%s: second run %v", c.check, again)
		}
		if third := run(t, e, pipeline.Request{Flows: []string{"vendor-accounts"}})[0]; third.Selected != 0 {
			t.Errorf("%s: a third run selects %d sites", c.check, third.Selected)
		}
	}
}
