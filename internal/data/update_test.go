package data

import (
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestApplyUpdate holds the update operators that users' updates are computed with to
// what MongoDB does with them.
func TestApplyUpdate(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	base := func() bson.D {
		return bson.D{{Key: "_id", Value: int32(1)}, {Key: "n", Value: int32(5)}, {Key: "tags", Value: bson.A{"a", "b"}},
			{Key: "sub", Value: bson.D{{Key: "x", Value: int32(1)}}}, {Key: "items", Value: bson.A{bson.D{{Key: "done", Value: true}}, bson.D{{Key: "done", Value: false}}}}}
	}
	for _, tc := range []struct {
		name   string
		update bson.D
		path   string
		want   any
	}{
		{"$set a new field", bson.D{{Key: "$set", Value: bson.D{{Key: "s", Value: "v"}}}}, "s", "v"},
		{"$set a nested path", bson.D{{Key: "$set", Value: bson.D{{Key: "sub.y.z", Value: int32(2)}}}}, "sub.y.z", int32(2)},
		{"$set an array index", bson.D{{Key: "$set", Value: bson.D{{Key: "tags.1", Value: "B"}}}}, "tags", bson.A{"a", "B"}},
		{"$inc int32", bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: int32(2)}}}}, "n", int32(7)},
		{"$inc widens on overflow", bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: int32(2147483647)}}}}, "n", int64(2147483652)},
		{"$inc by a double", bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: 0.5}}}}, "n", 5.5},
		{"$inc a missing field", bson.D{{Key: "$inc", Value: bson.D{{Key: "m", Value: int64(3)}}}}, "m", int64(3)},
		{"$mul", bson.D{{Key: "$mul", Value: bson.D{{Key: "n", Value: int32(3)}}}}, "n", int32(15)},
		{"$min keeps the smaller", bson.D{{Key: "$min", Value: bson.D{{Key: "n", Value: int32(9)}}}}, "n", int32(5)},
		{"$max takes the larger", bson.D{{Key: "$max", Value: bson.D{{Key: "n", Value: int64(9)}}}}, "n", int64(9)},
		{"$unset", bson.D{{Key: "$unset", Value: bson.D{{Key: "sub.x", Value: ""}}}}, "sub", bson.D{}},
		{"$rename", bson.D{{Key: "$rename", Value: bson.D{{Key: "n", Value: "count"}}}}, "count", int32(5)},
		{"$currentDate", bson.D{{Key: "$currentDate", Value: bson.D{{Key: "at", Value: true}}}}, "at", bson.NewDateTimeFromTime(now)},
		{"$push", bson.D{{Key: "$push", Value: bson.D{{Key: "tags", Value: "c"}}}}, "tags", bson.A{"a", "b", "c"}},
		{"$push $each $position $slice", bson.D{{Key: "$push", Value: bson.D{{Key: "tags", Value: bson.D{{Key: "$each", Value: bson.A{"x", "y"}}, {Key: "$position", Value: int32(0)}, {Key: "$slice", Value: int32(3)}}}}}}, "tags", bson.A{"x", "y", "a"}},
		{"$addToSet skips what is there", bson.D{{Key: "$addToSet", Value: bson.D{{Key: "tags", Value: bson.D{{Key: "$each", Value: bson.A{"a", "c"}}}}}}}, "tags", bson.A{"a", "b", "c"}},
		{"$pop first", bson.D{{Key: "$pop", Value: bson.D{{Key: "tags", Value: int32(-1)}}}}, "tags", bson.A{"b"}},
		{"$pull a value", bson.D{{Key: "$pull", Value: bson.D{{Key: "tags", Value: "a"}}}}, "tags", bson.A{"b"}},
		{"$pull by condition", bson.D{{Key: "$pull", Value: bson.D{{Key: "items", Value: bson.D{{Key: "done", Value: true}}}}}}, "items", bson.A{bson.D{{Key: "done", Value: false}}}},
		{"$pull by operator", bson.D{{Key: "$pull", Value: bson.D{{Key: "tags", Value: bson.D{{Key: "$in", Value: bson.A{"b"}}}}}}}, "tags", bson.A{"a"}},
		{"$pullAll", bson.D{{Key: "$pullAll", Value: bson.D{{Key: "tags", Value: bson.A{"a", "b"}}}}}, "tags", bson.A{}},
		{"$setOnInsert is skipped on update", bson.D{{Key: "$setOnInsert", Value: bson.D{{Key: "n", Value: int32(0)}}}}, "n", int32(5)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := base()
			out, err := applyUpdate(doc, tc.update, false, false, now)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := lookupPath(out, tc.path)
			if compareValues(got, tc.want) != 0 || typeOrder(got) != typeOrder(tc.want) {
				t.Errorf("%s = %#v, want %#v", tc.path, got, tc.want)
			}
			if !sameDocument(doc, base()) {
				t.Errorf("the document read was changed: %v", doc)
			}
		})
	}
	for name, upd := range map[string]bson.D{
		"positional $":         {{Key: "$set", Value: bson.D{{Key: "items.$.done", Value: true}}}},
		"all positional $[]":   {{Key: "$set", Value: bson.D{{Key: "items.$[].done", Value: true}}}},
		"changing _id":         {{Key: "$set", Value: bson.D{{Key: "_id", Value: int32(2)}}}},
		"conflicting paths":    {{Key: "$set", Value: bson.D{{Key: "sub", Value: int32(1)}}}, {Key: "$unset", Value: bson.D{{Key: "sub.x", Value: ""}}}},
		"$inc of a string":     {{Key: "$inc", Value: bson.D{{Key: "n", Value: "1"}}}},
		"$inc of a non-number": {{Key: "$inc", Value: bson.D{{Key: "tags", Value: int32(1)}}}},
		"$bit":                 {{Key: "$bit", Value: bson.D{{Key: "n", Value: bson.D{{Key: "and", Value: int32(1)}}}}}},
		"a $ field name":       {{Key: "$set", Value: bson.D{{Key: "$x", Value: int32(1)}}}},
		"into a scalar":        {{Key: "$set", Value: bson.D{{Key: "n.x", Value: int32(1)}}}},
		"$push to a non-array": {{Key: "$push", Value: bson.D{{Key: "n", Value: int32(1)}}}},
		"padding an array far": {{Key: "$set", Value: bson.D{{Key: "tags.1000000", Value: int32(1)}}}},
	} {
		if _, err := applyUpdate(base(), upd, false, false, now); err == nil {
			t.Errorf("%s: applied, want an error", name)
		}
	}
	// A replacement keeps _id and may not change it.
	out, err := applyUpdate(base(), bson.D{{Key: "a", Value: int32(1)}}, true, false, now)
	if err != nil || !sameDocument(out, bson.D{{Key: "_id", Value: int32(1)}, {Key: "a", Value: int32(1)}}) {
		t.Errorf("replacement = %v, %v", out, err)
	}
	if _, err := applyUpdate(base(), bson.D{{Key: "_id", Value: int32(2)}}, true, false, now); err == nil {
		t.Error("a replacement changed _id")
	}
}
