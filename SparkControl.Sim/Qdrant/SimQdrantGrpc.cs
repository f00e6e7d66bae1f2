using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Qdrant.Client.Grpc;

namespace SparkControl.Sim.Qdrant;

/// <summary>
/// Who may call a simulated Qdrant: Qdrant's <c>service.api_key</c> and <c>service.read_only_api_key</c>, sent as the
/// <c>api-key</c> header or <c>Authorization: Bearer</c>. Both null is an open Qdrant, as one started without a key.
/// </summary>
public sealed record SimQdrantAccess(string? ApiKey, string? ReadOnlyApiKey)
{
    public const string ApiKeyVariable = "QDRANT__SERVICE__API_KEY";
    public const string ReadOnlyApiKeyVariable = "QDRANT__SERVICE__READ_ONLY_API_KEY";

    public static SimQdrantAccess FromEnvironment(Func<string, string?> variable) =>
        new(Blank(variable(ApiKeyVariable)), Blank(variable(ReadOnlyApiKeyVariable)));

    private static string? Blank(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>Null when the call may go ahead; else whether it is unauthenticated (no or a wrong key) and Qdrant's words.</summary>
    public (bool Unauthenticated, string Message)? Refusal(string? apiKeyHeader, string? authorization, bool write)
    {
        if (ApiKey is null && ReadOnlyApiKey is null)
        {
            return null;
        }

        var presented = apiKeyHeader ?? (authorization?.StartsWith("Bearer ", StringComparison.Ordinal) == true ? authorization["Bearer ".Length..] : null);
        if (presented is null)
        {
            return (true, "Must provide an API key or an Authorization bearer token");
        }

        if (ApiKey is not null && FixedTimeEquals(presented, ApiKey))
        {
            return null;
        }

        if (ReadOnlyApiKey is not null && FixedTimeEquals(presented, ReadOnlyApiKey))
        {
            return write ? (false, "Write access denied") : null;
        }

        return (true, "Invalid API key or JWT");
    }

    private static bool FixedTimeEquals(string a, string b) =>
        System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(a), System.Text.Encoding.UTF8.GetBytes(b));
}

/// <summary>The gRPC service instance the methods below are bound to: the store and who may call it.</summary>
public sealed class SimQdrantService(SimQdrantStore store, SimQdrantAccess access)
{
    internal SimQdrantStore Store => store;

    internal void Authorize(ServerCallContext call, bool write)
    {
        if (access.Refusal(call.RequestHeaders.GetValue("api-key"), call.RequestHeaders.GetValue("authorization"), write) is { } refusal)
        {
            throw new RpcException(new Status(refusal.Unauthenticated ? StatusCode.Unauthenticated : StatusCode.PermissionDenied, refusal.Message));
        }
    }
}

/// <summary>
/// Binds Qdrant's gRPC methods (<c>qdrant.Qdrant</c>, <c>qdrant.Collections</c>, <c>qdrant.Points</c>,
/// <c>qdrant.Snapshots</c>) by their wire names, with the request and reply messages Qdrant.Client ships: the package
/// has client stubs only, so the server side is bound here method by method. A method not bound answers
/// <c>Unimplemented</c>, which is what the README's list of left-out behaviour says.
/// </summary>
internal sealed class SimQdrantMethods : IServiceMethodProvider<SimQdrantService>
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<SimQdrantService> context)
    {
        const string qdrant = "qdrant.Qdrant", collections = "qdrant.Collections", points = "qdrant.Points", snapshots = "qdrant.Snapshots";
        Read<HealthCheckRequest, HealthCheckReply>(context, qdrant, "HealthCheck", (_, _) => new HealthCheckReply { Title = "qdrant - vector search engine", Version = SimQdrantStore.Version, Commit = "simulated" });
        Read<ListCollectionsRequest, ListCollectionsResponse>(context, collections, "List", SimQdrantHandlers.List);
        Read<GetCollectionInfoRequest, GetCollectionInfoResponse>(context, collections, "Get", SimQdrantHandlers.Get);
        Read<CollectionExistsRequest, CollectionExistsResponse>(context, collections, "CollectionExists", SimQdrantHandlers.Exists);
        Write<CreateCollection, CollectionOperationResponse>(context, collections, "Create", SimQdrantHandlers.Create);
        Write<DeleteCollection, CollectionOperationResponse>(context, collections, "Delete", SimQdrantHandlers.Delete);
        Write<UpsertPoints, PointsOperationResponse>(context, points, "Upsert", SimQdrantHandlers.Upsert);
        Write<DeletePoints, PointsOperationResponse>(context, points, "Delete", SimQdrantHandlers.DeletePoints);
        Write<CreateFieldIndexCollection, PointsOperationResponse>(context, points, "CreateFieldIndex", SimQdrantHandlers.CreateFieldIndex);
        Read<GetPoints, GetResponse>(context, points, "Get", SimQdrantHandlers.GetPoints);
        Read<SearchPoints, SearchResponse>(context, points, "Search", SimQdrantHandlers.Search);
        Read<QueryPoints, QueryResponse>(context, points, "Query", SimQdrantHandlers.Query);
        Read<ScrollPoints, ScrollResponse>(context, points, "Scroll", SimQdrantHandlers.Scroll);
        Read<CountPoints, CountResponse>(context, points, "Count", SimQdrantHandlers.Count);
        Write<CreateSnapshotRequest, CreateSnapshotResponse>(context, snapshots, "Create", SimQdrantHandlers.CreateSnapshot);
        Read<ListSnapshotsRequest, ListSnapshotsResponse>(context, snapshots, "List", SimQdrantHandlers.ListSnapshots);
        Write<DeleteSnapshotRequest, DeleteSnapshotResponse>(context, snapshots, "Delete", SimQdrantHandlers.DeleteSnapshot);
        Write<CreateFullSnapshotRequest, CreateSnapshotResponse>(context, snapshots, "CreateFull", SimQdrantHandlers.CreateFullSnapshot);
        Read<ListFullSnapshotsRequest, ListSnapshotsResponse>(context, snapshots, "ListFull", SimQdrantHandlers.ListFullSnapshots);
        Write<DeleteFullSnapshotRequest, DeleteSnapshotResponse>(context, snapshots, "DeleteFull", SimQdrantHandlers.DeleteFullSnapshot);
    }

    private static void Read<TRequest, TReply>(ServiceMethodProviderContext<SimQdrantService> context, string service, string name, Func<SimQdrantStore, TRequest, TReply> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TReply : class, IMessage<TReply>, new() => Bind(context, service, name, write: false, handler);

    private static void Write<TRequest, TReply>(ServiceMethodProviderContext<SimQdrantService> context, string service, string name, Func<SimQdrantStore, TRequest, TReply> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TReply : class, IMessage<TReply>, new() => Bind(context, service, name, write: true, handler);

    private static void Bind<TRequest, TReply>(ServiceMethodProviderContext<SimQdrantService> context, string service, string name, bool write, Func<SimQdrantStore, TRequest, TReply> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TReply : class, IMessage<TReply>, new()
    {
        var method = new Method<TRequest, TReply>(MethodType.Unary, service, name, Marshaller<TRequest>(), Marshaller<TReply>());
        context.AddUnaryMethod(method, [], (instance, request, call) =>
        {
            instance.Authorize(call, write);
            return Task.FromResult(handler(instance.Store, request));
        });
    }

    private static Marshaller<T> Marshaller<T>()
        where T : class, IMessage<T>, new()
    {
        var parser = new MessageParser<T>(() => new T());
        return Marshallers.Create(message => message.ToByteArray(), parser.ParseFrom);
    }
}
