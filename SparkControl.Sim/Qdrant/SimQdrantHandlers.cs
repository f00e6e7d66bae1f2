using Qdrant.Client.Grpc;

namespace SparkControl.Sim.Qdrant;

/// <summary>What each bound Qdrant method does to the store, and the reply Qdrant sends for it.</summary>
internal static class SimQdrantHandlers
{
    /// <summary>Qdrant's segment count for a collection on a node with the default optimizer settings, as the Sim reports it.</summary>
    private const ulong Segments = 2;

    public static ListCollectionsResponse List(SimQdrantStore store, ListCollectionsRequest request)
    {
        var reply = new ListCollectionsResponse();
        reply.Collections.AddRange(store.CollectionNames().Select(n => new CollectionDescription { Name = n }));
        return reply;
    }

    public static GetCollectionInfoResponse Get(SimQdrantStore store, GetCollectionInfoRequest request) =>
        new() { Result = store.With(request.CollectionName, Info) };

    private static CollectionInfo Info(SimCollection collection)
    {
        var info = new CollectionInfo
        {
            Status = CollectionStatus.Green,
            OptimizerStatus = new OptimizerStatus { Ok = true },
            SegmentsCount = Segments,
            PointsCount = (ulong)collection.Points.Count,
            IndexedVectorsCount = 0,
            Config = new CollectionConfig
            {
                Params = new CollectionParams
                {
                    ShardNumber = 1,
                    VectorsConfig = new VectorsConfig { Params = new VectorParams { Size = collection.Size, Distance = collection.Distance } },
                },
                HnswConfig = new HnswConfigDiff { M = 16, EfConstruct = 100, FullScanThreshold = 10000 },
                OptimizerConfig = new OptimizersConfigDiff(),
                WalConfig = new WalConfigDiff { WalCapacityMb = 32, WalSegmentsAhead = 0 },
            },
        };
        foreach (var (field, type) in collection.Indexes)
        {
            info.PayloadSchema[field] = new PayloadSchemaInfo { DataType = type, Points = (ulong)collection.Points.Values.Count(p => p.Payload.ContainsKey(field)) };
        }

        return info;
    }

    public static CollectionExistsResponse Exists(SimQdrantStore store, CollectionExistsRequest request) =>
        new() { Result = new CollectionExists { Exists = store.Exists(request.CollectionName) } };

    public static CollectionOperationResponse Create(SimQdrantStore store, CreateCollection request)
    {
        if (request.VectorsConfig?.ConfigCase != VectorsConfig.ConfigOneofCase.Params)
        {
            throw SimQdrantStore.Invalid("Wrong input: the Sim serves collections with one unnamed dense vector (vectors_config.params)");
        }

        store.Create(request.CollectionName, request.VectorsConfig.Params.Size, request.VectorsConfig.Params.Distance);
        return new CollectionOperationResponse { Result = true };
    }

    public static CollectionOperationResponse Delete(SimQdrantStore store, DeleteCollection request) =>
        new() { Result = store.Delete(request.CollectionName) };

    public static PointsOperationResponse Upsert(SimQdrantStore store, UpsertPoints request)
    {
        store.With(request.CollectionName, collection =>
        {
            // Every point is checked before any is stored: a bad one fails the whole request, as in Qdrant.
            var read = request.Points.Select(p => new SimPoint(p.Id, SimQdrantPoints.ReadVector(p.Vectors, collection), new Dictionary<string, Value>(p.Payload, StringComparer.Ordinal))).ToList();
            foreach (var point in read)
            {
                collection.Points[point.Id] = point;
            }

            return read.Count;
        });
        return Completed();
    }

    public static PointsOperationResponse DeletePoints(SimQdrantStore store, DeletePoints request)
    {
        store.With(request.CollectionName, collection =>
        {
            var doomed = request.Points.PointsSelectorOneOfCase == PointsSelector.PointsSelectorOneOfOneofCase.Points
                ? request.Points.Points.Ids.ToList()
                : collection.Points.Values.Where(p => SimQdrantPoints.Matches(request.Points.Filter, p)).Select(p => p.Id).ToList();
            return doomed.Count(collection.Points.Remove);
        });
        return Completed();
    }

    public static PointsOperationResponse CreateFieldIndex(SimQdrantStore store, CreateFieldIndexCollection request)
    {
        store.With(request.CollectionName, collection => collection.Indexes[request.FieldName] = request.FieldType switch
        {
            FieldType.Integer => PayloadSchemaType.Integer,
            FieldType.Float => PayloadSchemaType.Float,
            FieldType.Bool => PayloadSchemaType.Bool,
            FieldType.Text => PayloadSchemaType.Text,
            FieldType.Datetime => PayloadSchemaType.Datetime,
            FieldType.Uuid => PayloadSchemaType.Uuid,
            _ => PayloadSchemaType.Keyword,
        });
        return Completed();
    }

    private static PointsOperationResponse Completed() => new() { Result = new UpdateResult { Status = UpdateStatus.Completed } };

    public static GetResponse GetPoints(SimQdrantStore store, GetPoints request)
    {
        var reply = new GetResponse();
        reply.Result.AddRange(store.With(request.CollectionName, collection => request.Ids
            .Where(collection.Points.ContainsKey)
            .Select(id => SimQdrantPoints.Retrieved(collection.Points[id], request.WithPayload, request.WithVectors))
            .ToList()));
        return reply;
    }

    public static SearchResponse Search(SimQdrantStore store, SearchPoints request)
    {
        var reply = new SearchResponse();
        reply.Result.AddRange(store.With(request.CollectionName, collection => SimQdrantPoints.Nearest(
            collection,
            SimQdrantPoints.Checked([.. request.Vector], collection),
            request.Filter,
            request.Limit,
            request.HasOffset ? request.Offset : 0,
            request.HasScoreThreshold ? request.ScoreThreshold : null,
            request.WithPayload,
            request.WithVectors)));
        return reply;
    }

    public static QueryResponse Query(SimQdrantStore store, QueryPoints request)
    {
        var reply = new QueryResponse();
        reply.Result.AddRange(store.With(request.CollectionName, collection =>
        {
            if (request.Query is null)
            {
                throw SimQdrantStore.Invalid("Wrong input: the Sim answers queries with a nearest-neighbour query only");
            }

            if (request.Query.VariantCase != global::Qdrant.Client.Grpc.Query.VariantOneofCase.Nearest)
            {
                throw SimQdrantStore.Invalid($"Wrong input: the Sim does not answer {request.Query.VariantCase} queries");
            }

            return SimQdrantPoints.Nearest(
                collection,
                SimQdrantPoints.QueryVector(request.Query.Nearest, collection),
                request.Filter,
                request.HasLimit ? request.Limit : 10,
                request.HasOffset ? request.Offset : 0,
                request.HasScoreThreshold ? request.ScoreThreshold : null,
                request.WithPayload,
                request.WithVectors);
        }));
        return reply;
    }

    public static ScrollResponse Scroll(SimQdrantStore store, ScrollPoints request)
    {
        var limit = request.HasLimit ? (int)request.Limit : 10;
        var reply = new ScrollResponse();
        store.With(request.CollectionName, collection =>
        {
            var page = collection.Points.Values
                .Where(p => SimQdrantPoints.Matches(request.Filter, p))
                .OrderBy(p => p.Id, PointIds.Order)
                .SkipWhile(p => request.Offset is { } from && PointIds.Order.Compare(p.Id, from) < 0)
                .Take(limit + 1)
                .ToList();
            // Scroll returns the payload unless told not to.
            var payload = request.WithPayload ?? new WithPayloadSelector { Enable = true };
            reply.Result.AddRange(page.Take(limit).Select(p => SimQdrantPoints.Retrieved(p, payload, request.WithVectors)));
            if (page.Count > limit)
            {
                reply.NextPageOffset = page[limit].Id;
            }

            return page.Count;
        });
        return reply;
    }

    public static CountResponse Count(SimQdrantStore store, CountPoints request) => new()
    {
        Result = new CountResult { Count = (ulong)store.With(request.CollectionName, c => c.Points.Values.Count(p => SimQdrantPoints.Matches(request.Filter, p))) },
    };

    public static CreateSnapshotResponse CreateSnapshot(SimQdrantStore store, CreateSnapshotRequest request) =>
        new() { SnapshotDescription = store.CreateSnapshot(request.CollectionName).Describe() };

    public static ListSnapshotsResponse ListSnapshots(SimQdrantStore store, ListSnapshotsRequest request)
    {
        store.With(request.CollectionName, c => c.Name);
        var reply = new ListSnapshotsResponse();
        reply.SnapshotDescriptions.AddRange(store.Snapshots(request.CollectionName).Select(s => s.Describe()));
        return reply;
    }

    public static DeleteSnapshotResponse DeleteSnapshot(SimQdrantStore store, DeleteSnapshotRequest request) =>
        store.DeleteSnapshot(request.CollectionName, request.SnapshotName)
            ? new DeleteSnapshotResponse()
            : throw SimQdrantStore.NotFound($"Snapshot {request.SnapshotName} not found");

    public static CreateSnapshotResponse CreateFullSnapshot(SimQdrantStore store, CreateFullSnapshotRequest request) =>
        new() { SnapshotDescription = store.CreateSnapshot(SimSnapshot.Full).Describe() };

    public static ListSnapshotsResponse ListFullSnapshots(SimQdrantStore store, ListFullSnapshotsRequest request)
    {
        var reply = new ListSnapshotsResponse();
        reply.SnapshotDescriptions.AddRange(store.Snapshots(SimSnapshot.Full).Select(s => s.Describe()));
        return reply;
    }

    public static DeleteSnapshotResponse DeleteFullSnapshot(SimQdrantStore store, DeleteFullSnapshotRequest request) =>
        store.DeleteSnapshot(SimSnapshot.Full, request.SnapshotName)
            ? new DeleteSnapshotResponse()
            : throw SimQdrantStore.NotFound($"Snapshot {request.SnapshotName} not found");
}
