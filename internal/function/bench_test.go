package function_test

import (
	"context"
	"testing"

	"github.com/wardenauth/warden/internal/function"
)

// BenchmarkCall is one small call, the runtime made for it included.
func BenchmarkCall(b *testing.B) {
	e := engine(&testing.T{}, map[string]string{"sum": `exports = (a, b) => a + b;`}, function.Options{})
	ctx := context.Background()
	for b.Loop() {
		if _, err := e.Call(ctx, function.Call{Name: "sum", Args: []any{int32(1), int32(2)}}); err != nil {
			b.Fatal(err)
		}
	}
}
