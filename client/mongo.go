package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// MongoClient is the app's MongoDB service as the user sees it: realm-web's
// user.mongoClient(name). Every operation goes through the server under the
// collection's rules, as this user.
type MongoClient struct {
	user    *User
	service string
}

// MongoDatabase is one database of a MongoClient.
type MongoDatabase struct {
	client *MongoClient
	name   string
}

// MongoCollection is one collection of a MongoDatabase.
type MongoCollection struct {
	db   *MongoDatabase
	name string
}

// MongoClient returns the data source called service (often "mongodb-atlas").
func (u *User) MongoClient(service string) *MongoClient {
	return &MongoClient{user: u, service: service}
}

// Database returns a database of the data source.
func (m *MongoClient) Database(name string) *MongoDatabase {
	return &MongoDatabase{client: m, name: name}
}

// Collection returns a collection of the database.
func (d *MongoDatabase) Collection(name string) *MongoCollection {
	return &MongoCollection{db: d, name: name}
}

// FindOptions shape a find: Projection and Sort are documents (bson.D keeps the order a
// sort needs); Limit 0 means no limit.
type FindOptions struct {
	Projection any
	Sort       any
	Limit      int64
}

// FindOneAndModifyOptions shape findOneAndUpdate, findOneAndReplace and findOneAndDelete.
type FindOneAndModifyOptions struct {
	Projection any
	Sort       any
	Upsert     bool
	// ReturnNewDocument returns the document after the change instead of before.
	ReturnNewDocument bool
}

// UpdateOptions shape updateOne and updateMany.
type UpdateOptions struct {
	// Upsert inserts a document when none matches.
	Upsert bool
}

// CountOptions shape count.
type CountOptions struct {
	// Limit stops counting at Limit documents (0: count all).
	Limit int64
}

// ErrNoDocuments is SingleResult's error when no document matched.
var ErrNoDocuments = errors.New("client: no document matched")

// SingleResult is the answer of FindOne and the FindOneAnd... operations, decoded on
// demand as the MongoDB driver's SingleResult is.
type SingleResult struct {
	raw   bson.RawValue
	found bool
	err   error
}

// Err is the request's error, ErrNoDocuments when no document matched, or nil.
func (r *SingleResult) Err() error {
	if r.err == nil && !r.found {
		return ErrNoDocuments
	}
	return r.err
}

// Decode decodes the document into v (a *bson.D, *bson.M or pointer to a struct with
// bson tags); it returns Err() when there is no document.
func (r *SingleResult) Decode(v any) error {
	if err := r.Err(); err != nil {
		return err
	}
	if err := r.raw.Unmarshal(v); err != nil {
		return fmt.Errorf("client: decoding the result: %w", err)
	}
	return nil
}

// Raw is the document, undecoded.
func (r *SingleResult) Raw() (bson.Raw, error) {
	if err := r.Err(); err != nil {
		return nil, err
	}
	doc, ok := r.raw.DocumentOK()
	if !ok {
		return nil, errors.New("client: the result is not a document")
	}
	return doc, nil
}

// UpdateResult is what updateOne and updateMany answer.
type UpdateResult struct {
	MatchedCount  int64 `bson:"matchedCount"`
	ModifiedCount int64 `bson:"modifiedCount"`
	// UpsertedID is the _id of an inserted document, or nil.
	UpsertedID any `bson:"upsertedId"`
}

// call runs one action with its argument document (database and collection added) and
// decodes the result into out (nil: ignore it); it reports false when the result is null.
func (c *MongoCollection) call(ctx context.Context, action string, arg bson.D, out any) (bool, error) {
	full := append(bson.D{{Key: "database", Value: c.db.name}, {Key: "collection", Value: c.name}}, arg...)
	ext, err := bson.MarshalExtJSON(full, true, false)
	if err != nil {
		return false, fmt.Errorf("client: encoding the %s argument: %w", action, err)
	}
	body := map[string]any{"name": action, "service": c.db.client.service, "arguments": []json.RawMessage{ext}}
	var raw json.RawMessage
	if err := c.db.client.user.request(ctx, http.MethodPost, c.db.client.user.app.appPath("/functions/call"), tokenAccess, body, &raw); err != nil {
		return false, err
	}
	if len(raw) == 0 || string(raw) == "null" {
		return false, nil
	}
	if out == nil {
		return true, nil
	}
	var wrap struct {
		V bson.RawValue `bson:"v"`
	}
	if err := bson.UnmarshalExtJSON(append(append([]byte(`{"v":`), raw...), '}'), false, &wrap); err != nil {
		return false, fmt.Errorf("client: decoding the %s result: %w", action, err)
	}
	if err := wrap.V.Unmarshal(out); err != nil {
		return false, fmt.Errorf("client: decoding the %s result: %w", action, err)
	}
	return true, nil
}

func optional(d bson.D, key string, v any) bson.D {
	if v == nil {
		return d
	}
	return append(d, bson.E{Key: key, Value: v})
}

// Find decodes the documents matching filter into results (a pointer to a slice).
func (c *MongoCollection) Find(ctx context.Context, filter any, opts *FindOptions, results any) error {
	arg := bson.D{{Key: "query", Value: orEmpty(filter)}}
	if opts != nil {
		arg = optional(arg, "project", opts.Projection)
		arg = optional(arg, "sort", opts.Sort)
		if opts.Limit > 0 {
			arg = append(arg, bson.E{Key: "limit", Value: opts.Limit})
		}
	}
	_, err := c.call(ctx, "find", arg, results)
	return err
}

// FindOne finds the first document matching filter: Decode it, or check Err for
// ErrNoDocuments.
func (c *MongoCollection) FindOne(ctx context.Context, filter any, opts *FindOptions) *SingleResult {
	arg := bson.D{{Key: "query", Value: orEmpty(filter)}}
	if opts != nil {
		arg = optional(arg, "project", opts.Projection)
		arg = optional(arg, "sort", opts.Sort)
	}
	return c.single(ctx, "findOne", arg)
}

// single runs an action whose answer is one document or null.
func (c *MongoCollection) single(ctx context.Context, action string, arg bson.D) *SingleResult {
	r := &SingleResult{}
	r.found, r.err = c.call(ctx, action, arg, &r.raw)
	return r
}

// Count counts the documents matching filter.
func (c *MongoCollection) Count(ctx context.Context, filter any, opts *CountOptions) (int64, error) {
	arg := bson.D{{Key: "query", Value: orEmpty(filter)}}
	if opts != nil && opts.Limit > 0 {
		arg = append(arg, bson.E{Key: "limit", Value: opts.Limit})
	}
	var n int64
	_, err := c.call(ctx, "count", arg, &n)
	return n, err
}

// Aggregate runs a pipeline and decodes its output into results (a pointer to a slice).
func (c *MongoCollection) Aggregate(ctx context.Context, pipeline any, results any) error {
	_, err := c.call(ctx, "aggregate", bson.D{{Key: "pipeline", Value: pipeline}}, results)
	return err
}

// InsertOne inserts a document and returns its _id.
func (c *MongoCollection) InsertOne(ctx context.Context, doc any) (any, error) {
	var res struct {
		InsertedID any `bson:"insertedId"`
	}
	if _, err := c.call(ctx, "insertOne", bson.D{{Key: "document", Value: doc}}, &res); err != nil {
		return nil, err
	}
	return res.InsertedID, nil
}

// InsertMany inserts documents and returns their _ids, in order.
func (c *MongoCollection) InsertMany(ctx context.Context, docs []any) ([]any, error) {
	var res struct {
		InsertedIDs []any `bson:"insertedIds"`
	}
	if _, err := c.call(ctx, "insertMany", bson.D{{Key: "documents", Value: docs}}, &res); err != nil {
		return nil, err
	}
	return res.InsertedIDs, nil
}

func (c *MongoCollection) update(ctx context.Context, action string, filter, update any, opts *UpdateOptions) (UpdateResult, error) {
	var res UpdateResult
	arg := bson.D{{Key: "query", Value: orEmpty(filter)}, {Key: "update", Value: update}, {Key: "upsert", Value: opts != nil && opts.Upsert}}
	_, err := c.call(ctx, action, arg, &res)
	return res, err
}

// UpdateOne updates the first document matching filter. An update without $ operators
// replaces the document, as in realm-web. opts may be nil.
func (c *MongoCollection) UpdateOne(ctx context.Context, filter, update any, opts *UpdateOptions) (UpdateResult, error) {
	return c.update(ctx, "updateOne", filter, update, opts)
}

// UpdateMany updates every document matching filter (an update without $ operators sets
// its fields). opts may be nil.
func (c *MongoCollection) UpdateMany(ctx context.Context, filter, update any, opts *UpdateOptions) (UpdateResult, error) {
	return c.update(ctx, "updateMany", filter, update, opts)
}

func (c *MongoCollection) delete(ctx context.Context, action string, filter any) (int64, error) {
	var res struct {
		DeletedCount int64 `bson:"deletedCount"`
	}
	_, err := c.call(ctx, action, bson.D{{Key: "query", Value: orEmpty(filter)}}, &res)
	return res.DeletedCount, err
}

// DeleteOne deletes the first document matching filter and reports how many it deleted.
func (c *MongoCollection) DeleteOne(ctx context.Context, filter any) (int64, error) {
	return c.delete(ctx, "deleteOne", filter)
}

// DeleteMany deletes every document matching filter.
func (c *MongoCollection) DeleteMany(ctx context.Context, filter any) (int64, error) {
	return c.delete(ctx, "deleteMany", filter)
}

func (c *MongoCollection) findAndModify(ctx context.Context, action string, filter, update any, opts *FindOneAndModifyOptions) *SingleResult {
	arg := bson.D{{Key: "filter", Value: orEmpty(filter)}}
	arg = optional(arg, "update", update)
	if opts != nil {
		arg = optional(arg, "sort", opts.Sort)
		arg = optional(arg, "projection", opts.Projection)
		arg = append(arg, bson.E{Key: "upsert", Value: opts.Upsert}, bson.E{Key: "returnNewDocument", Value: opts.ReturnNewDocument})
	}
	return c.single(ctx, action, arg)
}

// FindOneAndUpdate updates the first document matching filter; the result is the
// document before the update, or after it with ReturnNewDocument (ErrNoDocuments when
// none matched).
func (c *MongoCollection) FindOneAndUpdate(ctx context.Context, filter, update any, opts *FindOneAndModifyOptions) *SingleResult {
	return c.findAndModify(ctx, "findOneAndUpdate", filter, update, opts)
}

// FindOneAndReplace replaces the first document matching filter; see FindOneAndUpdate.
func (c *MongoCollection) FindOneAndReplace(ctx context.Context, filter, replacement any, opts *FindOneAndModifyOptions) *SingleResult {
	if replacement == nil {
		return &SingleResult{err: errors.New("client: FindOneAndReplace needs a replacement document")}
	}
	return c.findAndModify(ctx, "findOneAndReplace", filter, replacement, opts)
}

// FindOneAndDelete deletes the first document matching filter; the result is the deleted
// document.
func (c *MongoCollection) FindOneAndDelete(ctx context.Context, filter any, opts *FindOneAndModifyOptions) *SingleResult {
	return c.findAndModify(ctx, "findOneAndDelete", filter, nil, opts)
}

func orEmpty(filter any) any {
	if filter == nil {
		return bson.D{}
	}
	return filter
}
