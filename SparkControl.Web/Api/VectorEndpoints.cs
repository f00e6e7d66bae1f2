using SparkControl.Core.Vectors;
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
        return endpoints;
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
