using Microsoft.AspNetCore.Http.HttpResults;
using SparkControl.Core.Disk;
using SparkControl.Core.Validation;
using SparkControl.Web.Security;

namespace SparkControl.Web.Api;

/// <summary>
/// The weights cleanup: <c>GET /api/sparks/{name}/weights</c> lists the model folders of the Spark's Hugging Face cache,
/// <c>POST /api/sparks/{name}/weights/cleanup</c> deletes the unreferenced ones named, with <c>"confirm": true</c>.
/// </summary>
public static class WeightsEndpoints
{
    public sealed record FolderView(string Folder, string RepoId, long? Bytes, bool Referenced, string[] ReferencedBy, bool InUse, string[] InUseBy, bool Deletable, bool IsSymlink);

    public sealed record ListingView(string Spark, string HubPath, FolderView[] Folders, long ReclaimableBytes, string? ContainersProblem);

    public sealed record CleanupBody(string[]? Folders, bool? Confirm);

    public sealed record ResultView(string Folder, string? RepoId, string Outcome, long BytesFreed, string? Reason);

    public sealed record CleanupView(string Spark, int Deleted, long BytesFreed, ResultView[] Results);

    public static IEndpointRouteBuilder MapWeightsEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/sparks/{name}/weights").WithTags("Hosts").ValidateRouteValues(("name", v => Validators.Name(v, "name")));
        group.MapGet("/", List).RequireAuthorization(AccessPolicies.Viewer);
        group.MapPost("/cleanup", Cleanup).RequireAuthorization(AccessPolicies.Admin);
        return endpoints;
    }

    public static async Task<Ok<ListingView>> List(string name, WeightsCleanup cleanup, CancellationToken cancellationToken)
    {
        var listing = await cleanup.ListAsync(name, cancellationToken);
        return TypedResults.Ok(new ListingView(
            listing.Spark,
            listing.HubPath,
            [.. listing.Folders.Select(f => new FolderView(f.Folder, f.RepoId, f.Bytes, f.Referenced, [.. f.ReferencedBy], f.InUse, [.. f.InUseBy], listing.Offers(f), f.IsSymlink))],
            listing.ReclaimableBytes,
            listing.ContainersProblem));
    }

    /// <summary>
    /// 400 without <c>"confirm": true</c> or with a name that is not a cache folder (nothing is deleted then); 409 when
    /// nothing was deleted because every folder named is referenced or in use; else 200 with each folder's outcome.
    /// </summary>
    public static async Task<Results<Ok<CleanupView>, Conflict<CleanupView>>> Cleanup(string name, CleanupBody body, WeightsCleanup cleanup, HttpContext context, CancellationToken cancellationToken)
    {
        if (body.Confirm != true)
        {
            throw new ValidationFailedException([new FieldError("confirm", "deleting weights needs \"confirm\": true; list them first with GET /api/sparks/{name}/weights")]);
        }

        var results = await cleanup.CleanupAsync(name, body.Folders ?? [], AccessPolicies.AuditActorOf(context), cancellationToken);
        var view = new CleanupView(
            name,
            results.Count(r => r.Outcome == WeightsCleanupOutcome.Deleted),
            results.Sum(r => r.BytesFreed),
            [.. results.Select(r => new ResultView(r.Folder, r.RepoId, r.Outcome.ToString().ToLowerInvariant(), r.BytesFreed, r.Reason))]);
        var refusedOnly = view.Deleted == 0 && results.Any(r => r.Outcome is WeightsCleanupOutcome.Referenced or WeightsCleanupOutcome.InUse);
        return refusedOnly ? TypedResults.Conflict(view) : TypedResults.Ok(view);
    }
}
