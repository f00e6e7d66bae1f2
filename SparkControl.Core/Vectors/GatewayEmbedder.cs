using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using SparkControl.Core.Gateway;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Vectors;

/// <summary>The embedding model cannot embed now: not served, loading, or its server failed. <see cref="Loading"/> says which.</summary>
public sealed class EmbeddingUnavailableException(string message, bool loading = false, Exception? inner = null) : Exception(message, inner)
{
    public bool Loading { get; } = loading;
}

/// <summary>Turns texts into vectors with a model the gateway routes.</summary>
public interface ITextEmbedder
{
    Task<IReadOnlyList<float[]>> EmbedAsync(string model, IReadOnlyList<string> texts, CancellationToken cancellationToken);
}

/// <summary>
/// Embeds through the gateway's embeddings route: the model's name is looked up as the gateway looks it up, and the
/// texts go to the server that serves it now, in batches, under the name that server knows.
/// </summary>
public sealed class GatewayEmbedder(GatewayRoutes routes, IHttpClientFactory http) : ITextEmbedder
{
    public const string HttpClientName = "embeddings";

    private const int BatchSize = 64;

    public async Task<IReadOnlyList<float[]>> EmbedAsync(string model, IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        var target = routes.Resolve(model) switch
        {
            GatewayResolution.Route route => route.Target,
            GatewayResolution.AwaitSwap => throw new EmbeddingUnavailableException($"The embedding model '{model}' is loading; try again when its swap is done", loading: true),
            GatewayResolution.Unknown unknown => throw new EmbeddingUnavailableException(
                $"The embedding model '{Validators.Printable(model)}' is not served now (served: {(unknown.Available.IsEmpty ? "nothing" : string.Join(", ", unknown.Available))}); start the embeddings service or set Qdrant:EmbeddingModel"),
            _ => throw new EmbeddingUnavailableException($"The embedding model '{model}' cannot be reached"),
        };
        var upstreamName = target.Served.Contains(model) ? model : target.Upstream;
        var client = http.CreateClient(HttpClientName);
        var vectors = new List<float[]>(texts.Count);
        foreach (var batch in texts.Chunk(BatchSize))
        {
            vectors.AddRange(await EmbedBatchAsync(client, new Uri(target.Endpoint, "v1/embeddings"), upstreamName, batch, cancellationToken).ConfigureAwait(false));
        }

        return vectors;
    }

    private static async Task<IEnumerable<float[]>> EmbedBatchAsync(HttpClient client, Uri endpoint, string model, string[] batch, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await client.PostAsJsonAsync(endpoint, new { model, input = batch }, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new EmbeddingUnavailableException($"The embedding model '{model}' did not answer: {ex.Message}", inner: ex);
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new EmbeddingUnavailableException($"The embedding model '{model}' answered {(int)response.StatusCode}: {Validators.Printable(body.Length > 300 ? body[..300] : body)}");
            }

            try
            {
                var data = JsonNode.Parse(body)?["data"]?.AsArray() ?? throw new JsonException("no data");
                return data.OrderBy(d => d!["index"]!.GetValue<int>()).Select(d => d!["embedding"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray()).ToList();
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or NullReferenceException or FormatException)
            {
                throw new EmbeddingUnavailableException($"The embedding model '{model}' answered with something that is not an embeddings list", inner: ex);
            }
        }
    }
}
