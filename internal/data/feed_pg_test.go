package data

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/wardenauth/warden/internal/store/postgres/pgtest"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// TestFeedThroughPostgreSQLUnderConcurrentWrites: with the embedded store in PostgreSQL,
// writers on many collections at once, each watched, lose no event. (Each write holds one
// connection for its advisory lock; publishing on a second one ran the pool dry, stalled
// the writes for seconds and dropped their events silently.)
func TestFeedThroughPostgreSQLUnderConcurrentWrites(t *testing.T) {
	dsn := pgtest.Database(t)
	ctx := context.Background()
	s, err := Open(ctx, testApp(t), Options{DataDir: t.TempDir(), PostgresURL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	src, _ := s.Get("mongodb-atlas")
	const writers, writes = 8, 15
	streams := make([]*ChangeStream, writers)
	for i := range writers {
		streams[i] = watch(t, src, system, ns(fmt.Sprintf("Conc%d", i)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range writes {
				if _, err := src.Execute(ctx, system, "insertOne", ns(fmt.Sprintf("Conc%d", i), bson.E{Key: "document", Value: bson.D{{Key: "_id", Value: int32(j)}}})); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, st := range streams {
		for j := range writes {
			ev := next(t, st)
			if got, want := describe(ev), fmt.Sprintf("insert %d", j); got != want {
				t.Fatalf("collection %d, event %d: %s, want %s", i, j, got, want)
			}
		}
	}
}
