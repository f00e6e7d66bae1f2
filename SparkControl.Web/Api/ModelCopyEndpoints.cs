using Microsoft.AspNetCore.Http.HttpResults;
using SparkControl.Core.Disk;
using SparkControl.Core.Validation;
using SparkControl.Web.Model;
using SparkControl.Web.Security;

namespace SparkControl.Web.Api;

/// <summary>A local model on both Sparks: its check across them, and copying its directory from one Spark to the other.</summary>
public static class ModelCopyEndpoints
{
    /// <summary><c>{"from":"spark-1","to":"spark-2","path":"/home/nvidia/models/my-ft"}</c>.</summary>
    public sealed record CopyBody(string? From, string? To, string? Path);

    /// <summary><c>{"spark":"spark-1","path":"..."}</c>: the Spark a copy would come from when both hold the directory.</summary>
    public sealed record ClusterCheckBody(string? Spark, string? Path);

    public static IEndpointRouteBuilder MapModelCopies(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/models/copies").WithTags("Models").ValidateRouteValues(("copyId", RouteValueValidation.CopyId));
        group.MapPost("/", StartAsync).RequireAuthorization(AccessPolicies.Admin);
        group.MapGet("/", (ModelCopier copies) => TypedResults.Ok(copies.All)).RequireAuthorization(AccessPolicies.Viewer);
        group.MapGet("/{copyId}", Get).RequireAuthorization(AccessPolicies.Viewer);
        endpoints.MapPost("/api/models/check-cluster", CheckAsync).RequireAuthorization(AccessPolicies.Admin).WithTags("Models").WithMetadata(NotAudited.Instance);
        return endpoints;
    }

    /// <summary>400 for a field, 409 for a refusal (nothing to copy, already there, no room, no cluster link, a copy running), else 202.</summary>
    public static async Task<Accepted<ModelCopyStatus>> StartAsync(CopyBody body, ModelCopier copies, HttpContext context, CancellationToken cancellationToken)
    {
        var copy = await copies.StartAsync(body.From, body.To, body.Path, AccessPolicies.ActorOf(context.User), cancellationToken);
        return TypedResults.Accepted($"/api/models/copies/{copy.Id}", copy);
    }

    public static Ok<ModelCopyStatus> Get(string copyId, ModelCopier copies) =>
        TypedResults.Ok(copies.Find(copyId) ?? throw new KeyNotFoundException($"No copy has the id '{Validators.Printable(copyId)}'."));

    public static async Task<Ok<ClusterCheck>> CheckAsync(ClusterCheckBody body, ModelRegistrar registrar, CancellationToken cancellationToken) =>
        TypedResults.Ok(await registrar.CheckClusterAsync(body.Spark, body.Path ?? string.Empty, cancellationToken));
}
