using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Qdrant.Client;
using SparkControl.Core.Secrets;
using SparkControl.Core.Sparks;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Vectors;

/// <summary>
/// A call to Qdrant that failed: refused (a missing or wrong API key), unreachable, or refused as invalid, with what to
/// do about it. <see cref="Status"/> is Qdrant's gRPC status.
/// </summary>
public sealed class QdrantCallException(string service, StatusCode status, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Service { get; } = service;

    public StatusCode Status { get; } = status;

    public bool Refused => Status is StatusCode.Unauthenticated or StatusCode.PermissionDenied;

    public bool Unreachable => Status is StatusCode.Unavailable or StatusCode.DeadlineExceeded;

    /// <summary>The panel's words for <paramref name="ex"/>: what Qdrant said and what the operator can do.</summary>
    public static QdrantCallException From(ServiceDefinition service, RpcException ex) => new(service.Key, ex.StatusCode, ex.StatusCode switch
    {
        StatusCode.Unauthenticated => $"Qdrant {service.Key} refused the panel ({ex.Status.Detail}): set its API key under Settings, Services, {service.Name}",
        StatusCode.PermissionDenied => $"Qdrant {service.Key} refused the panel ({ex.Status.Detail}): the API key set for it is read-only; set the full key under Settings, Services, {service.Name}",
        StatusCode.Unavailable or StatusCode.DeadlineExceeded => $"Qdrant {service.Key} did not answer on its gRPC port ({ex.Status.Detail}); is it running, and is grpcPort right?",
        _ => $"Qdrant {service.Key}: {ex.Status.Detail}",
    }, ex);
}

/// <summary>
/// One Qdrant service as the panel talks to it: Qdrant.Client over gRPC, and REST (with the same API key) for what gRPC
/// lacks, snapshot download and upload.
/// </summary>
public sealed class QdrantConnection(ServiceDefinition service, QdrantClient client, Uri rest, Uri grpc, string? apiKey) : IDisposable
{
    public ServiceDefinition Service => service;

    public QdrantClient Client => client;

    public Uri Rest => rest;

    public Uri Grpc => grpc;

    /// <summary>A REST request to <paramref name="path"/> carrying the API key in its header, never in the URL.</summary>
    public HttpRequestMessage RestRequest(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, new Uri(rest, path));
        if (apiKey is not null)
        {
            request.Headers.Add("api-key", apiKey);
        }

        return request;
    }

    /// <summary>Runs a Qdrant.Client call, turning its gRPC failure into the panel's words.</summary>
    public async Task<T> CallAsync<T>(Func<QdrantClient, Task<T>> call)
    {
        try
        {
            return await call(client).ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            throw QdrantCallException.From(service, ex);
        }
    }

    public void Dispose() => client.Dispose();
}

/// <summary>
/// The Qdrant services of the fleet and one client for each, opened with the API key kept in the secret store
/// (<c>qdrant-api-key-&lt;spark&gt;-&lt;service&gt;</c>) and opened again when the service's address or key changes.
/// </summary>
public sealed class QdrantConnections(SparkFleet fleet, SecretStore secrets, IOptionsMonitor<QdrantOptions> options) : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (string Fingerprint, QdrantConnection Connection)> _open = new(StringComparer.Ordinal);

    public static string ApiKeySecret(ServiceDefinition service) => SecretStore.QdrantApiKeyFor(service.Spark, service.Name);

    public static string ReadOnlyApiKeySecret(ServiceDefinition service) => SecretStore.QdrantReadOnlyApiKeyFor(service.Spark, service.Name);

    public IReadOnlyList<ServiceDefinition> Services() => [.. fleet.Current.Services.Where(s => s.Kind == ServiceKind.Qdrant)];

    /// <summary>
    /// The Qdrant service a request names (<c>spark/name</c>, or a name only one Spark has), or the only one there is;
    /// a request that names none when there are several is refused, listing them.
    /// </summary>
    public ServiceDefinition Resolve(string? name)
    {
        var all = Services();
        if (name is null)
        {
            return all.Count switch
            {
                1 => all[0],
                0 => throw new KeyNotFoundException("No Qdrant service is configured: add one under Settings, Services"),
                _ => throw new ValidationFailedException([new FieldError("service", $"several Qdrant services are configured; name one of {string.Join(", ", all.Select(s => s.Key))}")]),
            };
        }

        var matches = all.Where(s => s.Key == name || s.Name == name).ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new KeyNotFoundException($"No Qdrant service '{Validators.Printable(name)}'; configured: {(all.Count == 0 ? "none" : string.Join(", ", all.Select(s => s.Key)))}"),
            _ => throw new ValidationFailedException([new FieldError("service", $"'{Validators.Printable(name)}' is on several Sparks; name one of {string.Join(", ", matches.Select(s => s.Key))}")]),
        };
    }

    /// <summary>
    /// The connection for <paramref name="service"/>; one that only reads (<paramref name="readOnly"/>: search, listings)
    /// carries the read-only key when one is set, so nothing a viewer starts can write, else the full key.
    /// </summary>
    public QdrantConnection For(ServiceDefinition service, bool readOnly = false)
    {
        var entry = fleet.Current.Find(service.Spark) ?? throw new KeyNotFoundException($"Spark '{service.Spark}' of Qdrant {service.Key} is not configured");
        var rest = service.Url is { } url ? new Uri(url) : entry.Host.GetEndpoint(service.Port ?? 6333);
        var grpc = service.Url is not null
            ? new UriBuilder(rest) { Port = service.EffectiveGrpcPort, Path = "/" }.Uri
            : entry.Host.GetEndpoint(service.EffectiveGrpcPort);
        var apiKey = (readOnly ? secrets.Reveal(ReadOnlyApiKeySecret(service)) : null) ?? secrets.Reveal(ApiKeySecret(service));
        var key = readOnly ? service.Key + "|read" : service.Key;
        var fingerprint = $"{rest}|{grpc}|{(apiKey is null ? "-" : Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(apiKey))))}";
        lock (_gate)
        {
            if (_open.TryGetValue(key, out var open) && open.Fingerprint == fingerprint)
            {
                return open.Connection;
            }

            // A connection replaced here may still be in use by a call that took it a moment ago; it is left to the
            // collector rather than disposed under that call.
            var connection = new QdrantConnection(service, new QdrantClient(grpc, apiKey, options.CurrentValue.CallTimeout), rest, grpc, apiKey);
            _open[key] = (fingerprint, connection);
            return connection;
        }
    }

    /// <summary>
    /// Whether Qdrant asks for a key: a call made with no key at all is refused (true) or answered (false, open to
    /// anyone who reaches its ports); null when it cannot be told (Qdrant not answering).
    /// </summary>
    public async Task<bool?> RequiresApiKeyAsync(ServiceDefinition service, CancellationToken cancellationToken)
    {
        using var anonymous = new QdrantClient(For(service).Grpc, apiKey: null, options.CurrentValue.CallTimeout);
        try
        {
            await anonymous.ListCollectionsAsync(cancellationToken).ConfigureAwait(false);
            return false;
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied)
        {
            return true;
        }
        catch (RpcException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var (_, connection) in _open.Values)
            {
                connection.Dispose();
            }

            _open.Clear();
        }
    }
}
