using Microsoft.AspNetCore.Http.HttpResults;
using SparkControl.Core.Hosts;
using SparkControl.Core.Remote;
using SparkControl.Core.Sparks;
using SparkControl.Web.Model;
using SparkControl.Core.Validation;
using SparkControl.Web.Security;

namespace SparkControl.Web.Api;

/// <summary>The Sparks: <c>GET/POST /api/sparks</c>, <c>PUT/DELETE /api/sparks/{name}</c>, connection test and host-key approval.</summary>
public static class SparksEndpoints
{
    public sealed record ConnectionBody(string State, string? Error, DateTimeOffset? Since, string? PendingFingerprint, string? PendingPreviousFingerprint, string? PinnedFingerprint);

    public sealed record SparkView(
        string Name,
        string Host,
        int Port,
        string User,
        string? KeyPath,
        string Role,
        string HfCachePath,
        string[] ModelRoots,
        string[] PathPrefix,
        string Gpus,
        string NetworkMode,
        string VllmImage,
        string[] ExtraMounts,
        SparkInput.LaunchClusterBody? LaunchCluster,
        ConnectionBody Connection,
        string Version);

    public sealed record ApproveBody(string? Fingerprint);

    public static IEndpointRouteBuilder MapSparks(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/sparks").WithTags("Sparks").ValidateRouteValues(("name", v => Validators.Name(v, "name")));
        group.MapGet("/", List).RequireAuthorization(AccessPolicies.Viewer);
        group.MapGet("/{name}", Get).RequireAuthorization(AccessPolicies.Viewer);
        group.MapPost("/", Add).RequireAuthorization(AccessPolicies.Admin);
        group.MapPut("/{name}", Update).RequireAuthorization(AccessPolicies.Admin);
        group.MapDelete("/{name}", Remove).RequireAuthorization(AccessPolicies.Admin);
        group.MapPost("/{name}/test", Test).RequireAuthorization(AccessPolicies.Admin);
        group.MapPost("/{name}/host-key/approve", ApproveHostKey).RequireAuthorization(AccessPolicies.Admin);
        return endpoints;
    }

    public static Ok<SparkView[]> List(SparkSettingsStore settings, ConnectivityTracker connectivity, HostKeyStore hostKeys) =>
        TypedResults.Ok(settings.Current.Sparks.Select(s => View(s, settings, connectivity, hostKeys)).ToArray());

    /// <summary>One Spark, with its version as the ETag: send it back as If-Match to change it only if nobody else has.</summary>
    public static Ok<SparkView> Get(string name, SparkSettingsStore settings, ConnectivityTracker connectivity, HostKeyStore hostKeys, HttpContext context)
    {
        var spark = settings.Current.Find(name) ?? throw new KeyNotFoundException($"No Spark is named '{name}'.");
        context.Response.Headers.ETag = EntityTags.Quote(settings.Version(spark));
        return TypedResults.Ok(View(spark, settings, connectivity, hostKeys));
    }

    public static async Task<Created<SparkView>> Add(SparkInput.SparkBody body, SparkSettingsStore settings, ConnectivityTracker connectivity, HostKeyStore hostKeys, HttpContext context, CancellationToken cancellationToken)
    {
        var spark = await settings.AddAsync(SparkInput.ToDefinition(body), cancellationToken);
        context.Response.Headers.ETag = EntityTags.Quote(settings.Version(spark));
        return TypedResults.Created($"/api/sparks/{spark.Name}", View(spark, settings, connectivity, hostKeys));
    }

    /// <summary>Replaces a Spark's settings; with If-Match, only if it is still that version (else 412).</summary>
    public static async Task<Ok<SparkView>> Update(string name, SparkInput.SparkBody body, SparkSettingsStore settings, ConnectivityTracker connectivity, HostKeyStore hostKeys, HttpContext context, CancellationToken cancellationToken)
    {
        var spark = await settings.UpdateAsync(name, SparkInput.ToDefinition(body with { Name = body.Name ?? name }), EntityTags.IfMatch(context), cancellationToken);
        context.Response.Headers.ETag = EntityTags.Quote(settings.Version(spark));
        return TypedResults.Ok(View(spark, settings, connectivity, hostKeys));
    }

    public static async Task<NoContent> Remove(string name, SparkSettingsStore settings, HttpContext context, CancellationToken cancellationToken)
    {
        await settings.RemoveAsync(name, EntityTags.IfMatch(context), cancellationToken);
        return TypedResults.NoContent();
    }

    public static async Task<Ok<SparkConnectionTest>> Test(string name, SparkConnectionTester tester, CancellationToken cancellationToken) =>
        TypedResults.Ok(await tester.TestAsync(name, cancellationToken));

    public static async Task<NoContent> ApproveHostKey(string name, ApproveBody body, SparkSettingsStore settings, HostKeyStore hostKeys, CancellationToken cancellationToken)
    {
        var spark = settings.Current.Find(name) ?? throw new KeyNotFoundException($"No Spark is named '{name}'.");
        if (string.IsNullOrWhiteSpace(body.Fingerprint) || !body.Fingerprint.StartsWith("SHA256:", StringComparison.Ordinal))
        {
            throw new ValidationFailedException([new FieldError("fingerprint", "fingerprint is required, as SHA256:... exactly as the connection test reported it")]);
        }

        await hostKeys.ApproveAsync(spark.Host, spark.Port, body.Fingerprint, cancellationToken);
        return TypedResults.NoContent();
    }

    public static SparkView View(SparkDefinition spark, SparkSettingsStore settings, ConnectivityTracker connectivity, HostKeyStore hostKeys)
    {
        var connection = connectivity.Find(spark.Name);
        var pending = hostKeys.PendingFor(spark.Host, spark.Port);
        return new SparkView(
            spark.Name, spark.Host, spark.Port, spark.User, spark.KeyPath, spark.Role.ToString().ToLowerInvariant(), spark.HfCachePath,
            [.. spark.ModelRoots], [.. spark.PathPrefix], spark.Gpus, spark.NetworkMode, spark.VllmImage, [.. spark.ExtraMounts],
            spark.LaunchCluster is { } l ? new SparkInput.LaunchClusterBody(l.Script, [.. l.Nodes], l.ContainerName, l.Image) : null,
            new ConnectionBody((connection?.State ?? ConnectionState.Unknown).ToString(), connection?.Error, connection?.Since, pending?.Fingerprint, pending?.PreviousFingerprint, hostKeys.PinnedFingerprint(spark.Host, spark.Port)),
            settings.Version(spark));
    }
}
