using System.Buffers.Binary;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace SparkControl.Benchmarks;

/// <summary>
/// A Blazor Server circuit without a browser: it does what blazor.web.js does to open a page's circuit (reads the page's
/// server component markers, connects to <c>/_blazor</c> with the blazorpack protocol, starts the circuit and adds the
/// root components), acknowledges every render batch, answers every JS interop call with null, and reads from each
/// batch the values the swap card's <c>data-phase</c> attribute takes. To the panel it is one more open dashboard,
/// rendered and diffed like any other; it costs the machine next to nothing, so the server's own limit shows.
/// </summary>
internal sealed partial class CircuitClient : IAsyncDisposable
{
    private readonly HubConnection _connection;
    private readonly HttpClient _http;
    private readonly List<(string Phase, long At)> _phases = [];
    private string? _circuitId;
    private int _batches;

    private CircuitClient(HubConnection connection, HttpClient http)
    {
        _connection = connection;
        _http = http;
    }

    /// <summary>Render batches received so far.</summary>
    public int Batches => Volatile.Read(ref _batches);

    /// <summary>Every data-phase value a batch carried, with when it arrived (Unix ms), in order.</summary>
    public List<(string Phase, long At)> Phases()
    {
        lock (_phases)
        {
            return [.. _phases];
        }
    }

    public static async Task<CircuitClient> OpenAsync(Uri baseAddress, string path = "/")
    {
        var http = new HttpClient(new SocketsHttpHandler { UseCookies = true, CookieContainer = new CookieContainer() }) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(120) };
        try
        {
            var html = await http.GetStringAsync(new Uri(baseAddress, path));
            var markers = Marker().Matches(html).Select(m => m.Groups[1].Value).ToArray();
            if (markers.Length == 0)
            {
                throw new InvalidOperationException($"{path} has no server component markers: it is not an interactive page.");
            }

            var state = State().Match(html) is { Success: true } found ? found.Groups[1].Value : string.Empty;
            var client = new CircuitClient(Connect(baseAddress), http);
            await client.StartAsync(baseAddress, path, markers, state);
            return client;
        }
        catch
        {
            http.Dispose();
            throw;
        }
    }

    /// <summary>The client's default protocol is JSON; a circuit speaks only blazorpack (MessagePack under another name).</summary>
    private static HubConnection Connect(Uri baseAddress)
    {
        var builder = new HubConnectionBuilder().WithUrl(new Uri(baseAddress, "_blazor"));
        builder.Services.RemoveAll<IHubProtocol>();
        builder.Services.AddSingleton<IHubProtocol>(new BlazorPackProtocol());
        return builder.Build();
    }

    private async Task StartAsync(Uri baseAddress, string path, string[] markers, string state)
    {
        _connection.On<long, byte[]>("JS.RenderBatch", async (batchId, batch) =>
        {
            Read(batch);
            Interlocked.Increment(ref _batches);
            await _connection.SendAsync("OnRenderCompleted", batchId, null);
        });
        // Task id, identifier, arguments, result type, target instance, call type (.NET 10's six).
        _connection.On<long, string, string, long, long, long>("JS.BeginInvokeJS", async (handle, _, _, _, _, _) =>
        {
            // Nothing on this side runs script: every call "succeeds" with no result, as a call to a void function does.
            if (handle != 0)
            {
                await _connection.SendAsync("EndInvokeJSFromDotNet", handle, true, $"[{handle},true,null]");
            }
        });
        await _connection.StartAsync();
        var uri = new Uri(baseAddress, path).ToString();
        _circuitId = await _connection.InvokeAsync<string?>("StartCircuit", baseAddress.ToString(), uri, "[]", state)
            ?? throw new InvalidOperationException("The server refused to start a circuit.");
        var operations = markers.Select((marker, i) =>
        {
            var descriptor = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(marker)!;
            descriptor["uniqueId"] = JsonSerializer.SerializeToElement(i);
            return new { type = "add", ssrComponentId = i + 1, marker = descriptor };
        }).ToArray();
        await _connection.SendAsync("UpdateRootComponents", JsonSerializer.Serialize(new { batchId = 1, operations }), state);
    }

    /// <summary>
    /// The data-phase values among the batch's reference frames. A batch ends with five offsets: updated components,
    /// reference frames, disposed components, disposed event handlers, string table. Reference frames are a count and
    /// 20-byte frames; an attribute frame (type 3) holds its name's and value's string indices at +4 and +8; the string
    /// table holds each string's offset, where a LEB128 length and the UTF-8 bytes follow.
    /// </summary>
    private void Read(byte[] batch)
    {
        var at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var span = batch.AsSpan();
        var frames = Int(span, span.Length - 16);
        var strings = Int(span, span.Length - 4);
        var count = Int(span, frames);
        for (var i = 0; i < count; i++)
        {
            var frame = frames + 4 + (20 * i);
            if (Int(span, frame) == 3 && String(span, strings, Int(span, frame + 4)) == "data-phase" && String(span, strings, Int(span, frame + 8)) is { } phase)
            {
                lock (_phases)
                {
                    _phases.Add((phase.ToLowerInvariant(), at));
                }
            }
        }
    }

    private static int Int(ReadOnlySpan<byte> span, int offset) => BinaryPrimitives.ReadInt32LittleEndian(span[offset..]);

    private static string? String(ReadOnlySpan<byte> span, int table, int index)
    {
        if (index < 0)
        {
            return null;
        }

        var offset = Int(span, table + (4 * index));
        var length = 0;
        var shift = 0;
        var used = 0;
        for (; used < 4; used++)
        {
            var b = span[offset + used];
            length |= (b & 0x7F) << shift;
            if (b < 0x80)
            {
                used++;
                break;
            }

            shift += 7;
        }

        return Encoding.UTF8.GetString(span.Slice(offset + used, length));
    }

    public async ValueTask DisposeAsync()
    {
        if (_circuitId is { } id)
        {
            // What a closing tab's beacon does: the circuit goes now, not after the disconnected-circuit retention period.
            using var form = new FormUrlEncodedContent([KeyValuePair.Create("circuitId", id)]);
            try
            {
                using var response = await _http.PostAsync("_blazor/disconnect", form);
                if (!response.IsSuccessStatusCode)
                {
                    await Console.Error.WriteLineAsync($"_blazor/disconnect answered {(int)response.StatusCode}: circuit {id} stays for the disconnected-circuit retention period");
                }
            }
            catch (HttpRequestException)
            {
                // The panel has gone; nothing to release.
            }
        }

        await _connection.DisposeAsync();
        _http.Dispose();
    }

    /// <summary>SignalR's MessagePack protocol under the name Blazor's hub expects.</summary>
    private sealed class BlazorPackProtocol : IHubProtocol
    {
        private readonly MessagePackHubProtocol _inner = new();

        public string Name => "blazorpack";

        public int Version => _inner.Version;

        public Microsoft.AspNetCore.Connections.TransferFormat TransferFormat => _inner.TransferFormat;

        public bool IsVersionSupported(int version) => _inner.IsVersionSupported(version);

        public bool TryParseMessage(ref System.Buffers.ReadOnlySequence<byte> input, IInvocationBinder binder, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out HubMessage? message) =>
            _inner.TryParseMessage(ref input, binder, out message);

        public void WriteMessage(HubMessage message, System.Buffers.IBufferWriter<byte> output) => _inner.WriteMessage(message, output);

        public ReadOnlyMemory<byte> GetMessageBytes(HubMessage message) => _inner.GetMessageBytes(message);
    }

    [GeneratedRegex(@"<!--Blazor:(\{.*?\})-->", RegexOptions.Singleline)]
    private static partial Regex Marker();

    [GeneratedRegex(@"<!--Blazor-Server-Component-State:([A-Za-z0-9+/=]+)-->")]
    private static partial Regex State();
}
