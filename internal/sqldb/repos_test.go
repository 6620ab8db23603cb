package sqldb_test

import (
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/sqldb/storetest"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

func TestSQLiteArchiveRename(t *testing.T) {
	storetest.RunArchiveRename(t, func(t *testing.T) gatehouse.Store {
		return openFile(t, filepath.Join(t.TempDir(), "gatehouse.db"))
	})
}

func TestPostgresArchiveRename(t *testing.T) {
	testenv.RequirePostgres(t)
	storetest.RunArchiveRename(t, func(t *testing.T) gatehouse.Store {
		return openFile(t, testenv.Postgres(t))
	})
}
