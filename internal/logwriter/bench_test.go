package logwriter

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkAccessLine is the cost of one access-log line as the server writes it at its
// default level: slog's text handler into a Writer.
func BenchmarkAccessLine(b *testing.B) {
	lw := New(io.Discard, 0)
	defer lw.Close()
	log := slog.New(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			log.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("method", "GET"), slog.String("path", "/healthz"),
				slog.Int("status", 200), slog.Duration("took", 123*time.Microsecond))
		}
	})
}
