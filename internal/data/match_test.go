package data

import (
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestMatcher: a watch filter on the embedded store selects events as MongoDB's $match
// would.
func TestMatcher(t *testing.T) {
	ev := bson.D{
		{Key: "operationType", Value: "insert"},
		{Key: "fullDocument", Value: bson.D{
			{Key: "_id", Value: int32(3)}, {Key: "str", Value: "odd %\n\r chars"}, {Key: "n", Value: 2.5},
			{Key: "tags", Value: bson.A{"a", "b"}},
			{Key: "items", Value: bson.A{bson.D{{Key: "k", Value: int32(1)}}, bson.D{{Key: "k", Value: int32(5)}}}},
		}},
	}
	d := func(k string, v any) bson.D { return bson.D{{Key: k, Value: v}} }
	for _, c := range []struct {
		q    bson.D
		want bool
	}{
		{d("operationType", "insert"), true},
		{d("operationType", "delete"), false},
		{d("fullDocument._id", int64(3)), true}, // numbers compare by value
		{d("$or", bson.A{bson.D{{Key: "fullDocument._id", Value: int32(3)}, {Key: "fullDocument.str", Value: "odd %\n\r chars"}}, d("fullDocument.done", true)}), true},
		{d("$or", bson.A{d("fullDocument._id", int32(4)), d("fullDocument.done", true)}), false},
		{d("$and", bson.A{d("fullDocument._id", int32(3)), d("fullDocument.n", d("$gt", int32(2)))}), true},
		{d("$nor", bson.A{d("fullDocument._id", int32(3))}), false},
		{d("fullDocument.n", d("$lt", int32(2))), false},
		{d("fullDocument.n", d("$gt", "a")), false}, // across types, no order
		{d("fullDocument.tags", "b"), true},         // an array holds the value
		{d("fullDocument.tags", d("$all", bson.A{"a", "b"})), true},
		{d("fullDocument.tags", d("$size", int32(2))), true},
		{d("fullDocument.tags.1", "b"), true},
		{d("fullDocument.items.k", int32(5)), true},
		{d("fullDocument.items", d("$elemMatch", d("k", d("$gte", int32(4))))), true},
		{d("fullDocument.items", d("$elemMatch", d("k", d("$gte", int32(6))))), false},
		{d("fullDocument.missing", nil), true},
		{d("fullDocument.missing", d("$exists", false)), true},
		{d("fullDocument.str", d("$exists", true)), true},
		{d("fullDocument.missing", d("$ne", int32(1))), true},
		{d("fullDocument._id", d("$in", bson.A{int32(1), int32(3)})), true},
		{d("fullDocument._id", d("$nin", bson.A{int32(1), int32(3)})), false},
		{d("fullDocument.str", d("$regex", "^ODD")), false},
		{bson.D{{Key: "fullDocument.str", Value: bson.D{{Key: "$regex", Value: "^ODD"}, {Key: "$options", Value: "i"}}}}, true},
		{d("fullDocument.str", bson.Regex{Pattern: "chars$"}), true},
		{d("fullDocument.str", d("$not", d("$regex", "odd"))), false},
		{d("fullDocument.n", d("$type", "double")), true},
		{d("fullDocument.n", d("$type", "number")), true},
		{d("fullDocument._id", d("$type", int32(16))), true},
		{d("fullDocument.tags", d("$type", "string")), true}, // into the array, as MongoDB
		{bson.D{{Key: "operationType", Value: "insert"}, {Key: "$comment", Value: "why"}}, true},
	} {
		m, err := compileMatch(c.q)
		if err != nil {
			t.Errorf("%v: %v", c.q, err)
			continue
		}
		if got := m.matches(ev); got != c.want {
			t.Errorf("%v matches = %v, want %v", c.q, got, c.want)
		}
	}
	for _, bad := range []bson.D{
		d("$where", "true"),
		d("fullDocument.x", d("$near", bson.A{})),
		d("$or", "not an array"),
		d("$or", bson.A{d("fullDocument.x", d("$expr", int32(1)))}),
		d("fullDocument.x", d("$regex", "(")),
		d("fullDocument.x", d("$type", true)),
		d("fullDocument.x", d("$in", make(bson.A, 1001))),
		d("fullDocument.x", d("$size", "two")),
		d("fullDocument.x", d("$elemMatch", "x")),
		d("$or", manyRegexes(17)),
	} {
		if _, err := compileMatch(bad); err == nil {
			t.Errorf("%v was accepted", bad)
		}
	}
}

func manyRegexes(n int) bson.A {
	out := bson.A{}
	for i := range n {
		out = append(out, bson.D{{Key: "fullDocument.s", Value: bson.Regex{Pattern: fmt.Sprintf("^%d", i)}}})
	}
	return out
}
