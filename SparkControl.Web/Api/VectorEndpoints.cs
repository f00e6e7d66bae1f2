using SparkControl.Core.Vectors;
using SparkControl.Core.Vectors.Snapshots;
using SparkControl.Web.Security;

namespace SparkControl.Web.Api;

/// <summary>
/// Search over Qdrant: <c>POST /api/search</c> answers the best chunks for a query;
/// <c>POST /api/collections/{name}/documents</c> cuts, embeds and adds documents; <c>GET /api/qdrant</c> lists the
/// Qdrant services with their collections, and <c>GET /api/qdrant/{spark}/{service}/collections/{name}/points</c>
/// samples a collection's points.
/// </summary>
public static class VectorEndpoints
{
    public sealed record HitsView(string Collection, string Service, string Model, IReadOnlyList<SearchHit> Hits);

    public static IEndpointRouteBuilder MapVectors(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/api/search", async (SearchRequest body, VectorSearch search, CancellationToken cancellationToken) =>
            {
                var result = await search.SearchAsync(body, cancellationToken);
                return TypedResults.Ok(new HitsView(result.Collection, result.Service, result.Model, result.Hits));
            })
            .WithTags("Search").RequireAuthorization(AccessPolicies.Viewer).WithMetadata(NotAudited.Instance);
        endpoints.MapPost("/api/collections/{name}/documents", (string name, DocumentsRequest body, VectorSearch search, CancellationToken cancellationToken) =>
                search.AddDocumentsAsync(name, body, cancellationToken))
            .WithTags("Search").RequireAuthorization(AccessPolicies.Operator)
            .ValidateRouteValues(("name", value => Core.Validation.Validators.Name(value, "collection")));

        var qdrant = endpoints.MapGroup("/api/qdrant").WithTags("Qdrant");
        qdrant.MapGet("/", async (QdrantConnections connections, QdrantCollections collections, CancellationToken cancellationToken) =>
            {
                var overviews = new List<object>();
                foreach (var service in connections.Services())
                {
                    overviews.Add(await OverviewOrProblemAsync(collections, service, cancellationToken));
                }

                return TypedResults.Ok(overviews);
            })
            .RequireAuthorization(AccessPolicies.Viewer);
        qdrant.MapGet("/{spark}/{service}/collections/{name}", (string spark, string service, string name, QdrantConnections connections, QdrantCollections collections, CancellationToken cancellationToken) =>
                collections.InfoAsync(connections.Resolve($"{spark}/{service}"), name, cancellationToken))
            .RequireAuthorization(AccessPolicies.Viewer).ValidateRouteValues(("spark", Names), ("service", Names), ("name", Names));
        qdrant.MapGet("/{spark}/{service}/collections/{name}/points", (string spark, string service, string name, int? limit, QdrantConnections connections, QdrantCollections collections, CancellationToken cancellationToken) =>
                collections.SampleAsync(connections.Resolve($"{spark}/{service}"), name, limit ?? 20, cancellationToken))
            .RequireAuthorization(AccessPolicies.Viewer).ValidateRouteValues(("spark", Names), ("service", Names), ("name", Names));
        MapSnapshots(qdrant);
        return endpoints;
    }

    public sealed record ScopeBody(string? Scope);

    public sealed record RestoreBody(string? Collection, bool? Confirm);

    public sealed record SnapshotsView(SnapshotSchedule Schedule, DateTimeOffset? NextRunAt, string Folder, IReadOnlyList<SnapshotRecord> Runs);

    /// <summary>A Qdrant service's snapshots: schedule, runs, "snapshot now", the panel's copy and restore from it.</summary>
    private static void MapSnapshots(RouteGroupBuilder qdrant)
    {
        const string path = "/{spark}/{service}/snapshots";
        qdrant.MapGet(path, (string spark, string service, QdrantConnections connections, QdrantSnapshots snapshots, SnapshotScheduler scheduler) =>
            {
                var definition = connections.Resolve($"{spark}/{service}");
                return TypedResults.Ok(new SnapshotsView(snapshots.ScheduleOf(definition), scheduler.NextRunAt(definition.Key), snapshots.Folder, snapshots.Runs(definition)));
            })
            .RequireAuthorization(AccessPolicies.Viewer).ValidateRouteValues(("spark", Names), ("service", Names));
        qdrant.MapPut(path + "/schedule", (string spark, string service, SnapshotSchedule body, HttpContext context, QdrantConnections connections, QdrantSnapshots snapshots) =>
            {
                snapshots.SaveSchedule(connections.Resolve($"{spark}/{service}"), body, AccessPolicies.AuditActorOf(context));
                return TypedResults.Ok(body);
            })
            .RequireAuthorization(AccessPolicies.Operator).ValidateRouteValues(("spark", Names), ("service", Names)).WithMetadata(NotAudited.Instance);
        qdrant.MapPost(path, async (string spark, string service, ScopeBody? body, HttpContext context, QdrantConnections connections, QdrantSnapshots snapshots, CancellationToken cancellationToken) =>
            {
                var definition = connections.Resolve($"{spark}/{service}");
                var (runs, _) = await snapshots.StartAsync(definition, body?.Scope ?? SnapshotSchedule.EachCollection, AccessPolicies.ActorOf(context.User), cancellationToken);
                return TypedResults.Accepted($"/api/qdrant/{spark}/{service}/snapshots", runs);
            })
            .RequireAuthorization(AccessPolicies.Operator).ValidateRouteValues(("spark", Names), ("service", Names));
        qdrant.MapGet(path + "/{id:long}/file", (string spark, string service, long id, QdrantConnections connections, QdrantSnapshots snapshots) =>
                snapshots.FileOf(connections.Resolve($"{spark}/{service}"), id) is { } file && File.Exists(file)
                    ? Results.File(file, "application/octet-stream", Path.GetFileName(file))
                    : throw new KeyNotFoundException($"Snapshot run {id} has no copy on the panel's disk"))
            .RequireAuthorization(AccessPolicies.Operator).ValidateRouteValues(("spark", Names), ("service", Names));
        qdrant.MapPost(path + "/{id:long}/restore", async (string spark, string service, long id, RestoreBody body, HttpContext context, QdrantConnections connections, QdrantSnapshots snapshots, CancellationToken cancellationToken) =>
            {
                if (body.Confirm != true)
                {
                    throw new Core.Validation.ValidationFailedException([new("confirm", "restoring replaces the collection's points with the snapshot's: send \"confirm\": true")]);
                }

                await snapshots.RestoreAsync(connections.Resolve($"{spark}/{service}"), id, body.Collection, AccessPolicies.AuditActorOf(context), cancellationToken);
                return TypedResults.NoContent();
            })
            .RequireAuthorization(AccessPolicies.Operator).ValidateRouteValues(("spark", Names), ("service", Names)).WithMetadata(NotAudited.Instance);
    }

    private static string? Names(string value) => Core.Validation.Validators.Name(value, "name") is null ? null : "is not a name (letters, digits, '.', '_' and '-')";

    /// <summary>A service's overview, or what kept it from answering, so one Qdrant down does not hide the others.</summary>
    private static async Task<object> OverviewOrProblemAsync(QdrantCollections collections, Core.Sparks.ServiceDefinition service, CancellationToken cancellationToken)
    {
        try
        {
            return await collections.OverviewAsync(service, cancellationToken);
        }
        catch (QdrantCallException ex)
        {
            return new { service = service.Key, error = ex.Message };
        }
    }
}
