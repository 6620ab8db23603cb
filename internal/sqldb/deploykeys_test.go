package sqldb_test

import (
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/sqldb/storetest"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

func TestSQLiteKeyStore(t *testing.T) {
	storetest.RunKeys(t, func(t *testing.T) gatehouse.Store {
		return openFile(t, filepath.Join(t.TempDir(), "gatehouse.db"))
	})
}

func TestPostgresKeyStore(t *testing.T) {
	testenv.RequirePostgres(t)
	storetest.RunKeys(t, func(t *testing.T) gatehouse.Store {
		return openFile(t, testenv.Postgres(t))
	})
}
