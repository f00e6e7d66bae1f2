using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Web.Hosting;

namespace SparkControl.Web.Api;

/// <summary><c>GET /healthz</c>: the panel itself is up, with what it can and cannot do right now.</summary>
public static class HealthzEndpoints
{
    public sealed record DataDirectoryState(string Path, bool Writable, string? Reason);

    public sealed record DatabaseState(bool Available, string? Reason);

    /// <summary>Something that cannot be saved now: what, where, why, and since when.</summary>
    public sealed record StorageProblemView(string What, string Path, string Reason, DateTimeOffset Since);

    public sealed record HealthzResponse(string Status, string Version, bool Demo, DataDirectoryState DataDirectory, DatabaseState Database, StorageProblemView[] CannotSave);

    public static IEndpointRouteBuilder MapHealthz(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", GetHealthz).WithName("Healthz").AllowAnonymous();
        return endpoints;
    }

    /// <summary>What an anonymous caller (a load balancer, a monitor) learns: up, and whether degraded.</summary>
    public sealed record HealthzStatus(string Status);

    /// <summary>The status for anyone; paths, versions and reasons only for a signed-in viewer or a key.</summary>
    private static IResult GetHealthz(HttpContext context, DataDirectory dataDirectory, SparkControlStore store, StorageHealth storage, SparkFleet fleet)
    {
        var writable = dataDirectory.CanWrite(out var reason);
        var problems = storage.Current;
        var degraded = !writable || !store.IsAvailable || !problems.IsEmpty;
        if (!Security.AccessPolicies.Allows(context.User, Core.Access.AccessRole.Viewer))
        {
            return TypedResults.Ok(new HealthzStatus(degraded ? "degraded" : "ok"));
        }

        return TypedResults.Ok(new HealthzResponse(
            degraded ? "degraded" : "ok",
            AppVersion.Current,
            fleet.Current.IsDemo,
            new DataDirectoryState(dataDirectory.Path, writable, reason),
            new DatabaseState(store.IsAvailable, store.UnavailableReason),
            [.. problems.Select(p => new StorageProblemView(p.What, p.Path, p.Reason, p.Since))]));
    }
}
