using System.Security.Cryptography;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace SparkControl.Sim.Qdrant;

/// <summary>
/// The REST side (port 6333) of a simulated Qdrant where gRPC has nothing: snapshot download, upload and listing, with
/// Qdrant's reply shapes (<c>{"result":…,"status":"ok","time":…}</c>, errors as <c>{"status":{"error":…}}</c>) and its
/// API key rule (every path but <c>/</c>, <c>/healthz</c>, <c>/readyz</c> and <c>/livez</c>; 401 without a valid key).
/// </summary>
internal static class SimQdrantRest
{
    private static readonly string[] Open = ["/", "/healthz", "/readyz", "/livez"];

    public static void Map(IEndpointRouteBuilder app, SimQdrantStore store, SimQdrantAccess access)
    {
        var routes = app.MapGroup(string.Empty).AddEndpointFilter(async (context, next) =>
        {
            var request = context.HttpContext.Request;
            var write = !HttpMethods.IsGet(request.Method);
            if (!Open.Contains(request.Path.Value) && access.Refusal(request.Headers["api-key"].FirstOrDefault(), request.Headers.Authorization.FirstOrDefault(), write) is { } refusal)
            {
                return Error(refusal.Unauthenticated ? 401 : 403, refusal.Message);
            }

            try
            {
                return await next(context).ConfigureAwait(false);
            }
            catch (RpcException ex)
            {
                return Error(ex.StatusCode == StatusCode.NotFound ? 404 : 400, ex.Status.Detail);
            }
        });
        routes.MapGet("/collections/{collection}/snapshots", (string collection) =>
        {
            store.With(collection, c => c.Name);
            return Ok(store.Snapshots(collection).Select(Describe));
        });
        routes.MapGet("/collections/{collection}/snapshots/{name}", (string collection, string name, CancellationToken cancellationToken) => DownloadAsync(store, store.FindSnapshot(collection, name), cancellationToken));
        routes.MapDelete("/collections/{collection}/snapshots/{name}", (string collection, string name) =>
            store.DeleteSnapshot(collection, name) ? Ok(true) : Error(404, $"Not found: Snapshot {name} not found"));
        routes.MapGet("/snapshots", () => Ok(store.Snapshots(SimSnapshot.Full).Select(Describe)));
        routes.MapGet("/snapshots/{name}", (string name, CancellationToken cancellationToken) => DownloadAsync(store, store.FindSnapshot(SimSnapshot.Full, name), cancellationToken));
        routes.MapPost("/collections/{collection}/snapshots/upload", (string collection, string? priority, string? checksum, HttpRequest request) => UploadAsync(store, collection, priority, checksum, request))
            .DisableAntiforgery();
    }

    private static async Task<IResult> DownloadAsync(SimQdrantStore store, SimSnapshot? snapshot, CancellationToken cancellationToken)
    {
        if (snapshot is null)
        {
            return Error(404, "Not found: Snapshot not found");
        }

        if (store.BeforeDownload is { } hold)
        {
            await hold(cancellationToken).ConfigureAwait(false);
        }

        return Results.File(snapshot.Path, "application/octet-stream", snapshot.Name);
    }

    /// <summary>
    /// A restore from an uploaded file (multipart field <c>snapshot</c>). With priority <c>snapshot</c> (or
    /// <c>no_sync</c>) the collection becomes the snapshot's; with the default, <c>replica</c>, the snapshot yields to
    /// the cluster's existing data, which on a single fresh node is none: the collection comes back empty.
    /// </summary>
    private static async Task<IResult> UploadAsync(SimQdrantStore store, string collection, string? priority, string? checksum, HttpRequest request)
    {
        if (priority is not (null or "snapshot" or "replica" or "no_sync"))
        {
            return Error(400, $"Bad request: unknown variant `{priority}`, expected one of `replica`, `snapshot`, `no_sync`");
        }

        if (!request.HasFormContentType || (await request.ReadFormAsync().ConfigureAwait(false)).Files.GetFile("snapshot") is not { } file)
        {
            return Error(400, "Bad request: the snapshot file must be sent as the multipart field `snapshot`");
        }

        using var buffer = new MemoryStream();
        await using (var stream = file.OpenReadStream())
        {
            await stream.CopyToAsync(buffer).ConfigureAwait(false);
        }

        var bytes = buffer.ToArray();
        var actual = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (checksum is not null && !string.Equals(checksum, actual, StringComparison.OrdinalIgnoreCase))
        {
            return Error(400, $"Wrong input: Snapshot checksum mismatch: expected {checksum}, got {actual}");
        }

        store.Restore(collection, bytes, keepPoints: priority is "snapshot" or "no_sync");
        return Ok(true);
    }

    private static object Describe(SimSnapshot s) => new { name = s.Name, creation_time = s.CreatedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss", System.Globalization.CultureInfo.InvariantCulture), size = s.Size, checksum = s.Checksum };

    private static IResult Ok(object result) => Results.Json(new { result, status = "ok", time = 0.001 });

    private static IResult Error(int status, string message) => Results.Json(new { status = new { error = message }, time = 0.0 }, statusCode: status);
}
