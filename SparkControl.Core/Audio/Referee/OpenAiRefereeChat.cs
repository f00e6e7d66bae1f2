using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace SparkControl.Core.Audio.Referee;

/// <summary>
/// The referee's chat model on an OpenAI-compatible server (vLLM, llama.cpp, OpenAI): POSTs to
/// <c>{baseUri}/v1/chat/completions</c> with <c>model</c> set, an optional bearer key and a per-call timeout, and reads
/// <c>choices[0].message.content</c>. The invoker is given, not made, so the panel's handler (and its connection pool)
/// is shared and tests can point it anywhere.
/// </summary>
public sealed class OpenAiRefereeChat : IRefereeChat
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    /// <summary>How much of an error body goes into the exception's message.</summary>
    private const int MostErrorChars = 300;

    private readonly HttpMessageInvoker _http;
    private readonly Uri _endpoint;
    private readonly string _model;
    private readonly string? _apiKey;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;

    /// <param name="baseUri">The server's root, e.g. <c>http://spark:8000</c> (without <c>/v1</c>).</param>
    /// <param name="timeout">How long one call may take; default <see cref="DefaultTimeout"/>.</param>
    public OpenAiRefereeChat(HttpMessageInvoker http, Uri baseUri, string model, string? apiKey = null, TimeSpan? timeout = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(baseUri);
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        if (!baseUri.IsAbsoluteUri)
        {
            throw new ArgumentException($"The chat model's address must be absolute, not '{baseUri}'.", nameof(baseUri));
        }

        _timeout = timeout ?? DefaultTimeout;
        if (_timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), _timeout, "The timeout must be positive.");
        }

        _http = http;
        _endpoint = new Uri(baseUri.AbsoluteUri.TrimEnd('/') + "/v1/chat/completions");
        _model = model;
        _apiKey = string.IsNullOrEmpty(apiKey) ? null : apiKey;
        _time = time ?? TimeProvider.System;
    }

    public Uri Endpoint => _endpoint;

    public string Model => _model;

    public async Task<string> CompleteAsync(string requestJson, CancellationToken cancellationToken)
    {
        using var timed = new CancellationTokenSource(_timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timed.Token);
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint)
        {
            Content = new StringContent(RefereePrompt.WithModel(requestJson, _model), Encoding.UTF8, "application/json"),
        };
        if (_apiKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
        }

        try
        {
            using var response = await _http.SendAsync(request, linked.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(linked.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException(
                    string.Create(CultureInfo.InvariantCulture, $"The chat model answered HTTP {(int)response.StatusCode}: {ErrorMessage(body)}"), null, response.StatusCode);
            }

            return AssistantContent(body);
        }
        catch (OperationCanceledException) when (timed.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(string.Create(CultureInfo.InvariantCulture, $"The chat model gave no answer within {_timeout.TotalSeconds:0.###} s."));
        }
    }

    /// <summary><c>choices[0].message.content</c> of a chat completion.</summary>
    public static string AssistantContent(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0
                && choices[0].ValueKind == JsonValueKind.Object
                && choices[0].TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object
                && message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
            {
                return content.GetString()!;
            }

            throw new RefereeChatException("The chat model's answer has no choices[0].message.content.");
        }
        catch (JsonException ex)
        {
            throw new RefereeChatException("The chat model's answer is not JSON.", ex);
        }
    }

    /// <summary>OpenAI's <c>error.message</c> when the body has one, else the start of the body.</summary>
    private static string ErrorMessage(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var error))
            {
                var message = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var m) ? m : error;
                if (message.ValueKind == JsonValueKind.String)
                {
                    body = message.GetString()!;
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's HTML page): the body itself says what went wrong.
        }

        return body.Length <= MostErrorChars ? body : body[..MostErrorChars] + "…";
    }
}
