using System.Net;
using System.Text;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;

namespace SparkControl.Tests.Core;

/// <summary>What the panel reads from a model server (or whatever listens on its port) is bounded.</summary>
public sealed class BoundedHttpTests
{
    private static readonly Uri Server = new("http://spark-1.test:8000/");

    [Fact]
    public async Task ModelsList_WithoutALengthAndWithoutEnd_IsAProbeFailure_NotAnEndlessRead()
    {
        using var http = new HttpClient(new Answer(() => new StreamContent(new EndlessJson())));
        var probe = new HealthProbe(http, TimeProvider.System);

        var result = await probe.ProbeAsync(ServiceKind.VllmLlm, Server, "/health", TimeSpan.FromSeconds(60), CancellationToken.None);

        Assert.Equal(ProbeOutcome.Failed, result.Outcome);
        Assert.Equal("http://spark-1.test:8000/v1/models answered more than 1,024 KiB; the panel reads at most that much from a model server", result.Detail);
        Assert.False(result.ModelsAnswered);
    }

    [Fact]
    public async Task DeclaredLengthPastTheLimit_IsRefusedBeforeTheBodyIsRead()
    {
        var content = new StreamContent(new EndlessJson());
        content.Headers.ContentLength = BoundedHttp.ModelsLimit + 1L;
        using var http = new HttpClient(new Answer(() => content));

        await Assert.ThrowsAsync<ReplyTooLargeException>(() => BoundedHttp.GetAsync(http, new Uri(Server, "/v1/models"), BoundedHttp.ModelsLimit, CancellationToken.None));
    }

    [Fact]
    public async Task ABodyOfExactlyTheLimit_IsRead()
    {
        var body = new byte[BoundedHttp.ModelsLimit];
        Array.Fill(body, (byte)' ');
        "{\"data\":[]}"u8.CopyTo(body);
        using var http = new HttpClient(new Answer(() => new StreamContent(new MemoryStream(body))));

        var (response, read) = await BoundedHttp.GetAsync(http, new Uri(Server, "/v1/models"), BoundedHttp.ModelsLimit, CancellationToken.None);
        using var _ = response;

        Assert.Equal(body, read);
        Assert.StartsWith("{\"data\":[]}", BoundedHttp.Text(read, response.Content.Headers), StringComparison.Ordinal);
    }

    /// <summary>A JSON array that never ends, handed over in reads as a slow or hostile server would.</summary>
    private sealed class EndlessJson : Stream
    {
        private static readonly byte[] Piece = Encoding.ASCII.GetBytes("{\"id\":\"a-model-name-that-goes-on\"},");
        private bool _started;

        public override int Read(byte[] buffer, int offset, int count)
        {
            var start = _started ? 0 : 1;
            if (!_started)
            {
                buffer[offset] = (byte)'[';
                _started = true;
            }

            var written = start;
            while (written + Piece.Length <= count)
            {
                Piece.CopyTo(buffer, offset + written);
                written += Piece.Length;
            }

            return written;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>/health is OK; every other path answers 200 with the given body.</summary>
    private sealed class Answer(Func<HttpContent> body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK)
            {
                RequestMessage = request,
                Content = request.RequestUri!.AbsolutePath == "/health" ? new StringContent(string.Empty) : body(),
            });
    }
}
