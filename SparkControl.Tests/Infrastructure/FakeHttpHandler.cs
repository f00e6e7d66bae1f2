using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace SparkControl.Tests.Infrastructure;

/// <summary>Answers HTTP requests by port: a status and body, connection refused, or a hang until cancelled.</summary>
public sealed class FakeHttpHandler : HttpMessageHandler
{
    public enum Behaviour
    {
        Answer,
        Refuse,
        Hang,
    }

    private readonly ConcurrentDictionary<(int Port, string Path), (Behaviour Behaviour, HttpStatusCode Status, string Body)> _routes = new();

    public ConcurrentQueue<Uri> Requests { get; } = new();

    public void Set(int port, string path, Behaviour behaviour, HttpStatusCode status = HttpStatusCode.OK, string body = "") =>
        _routes[(port, path)] = (behaviour, status, body);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri!;
        Requests.Enqueue(uri);
        if (!_routes.TryGetValue((uri.Port, uri.AbsolutePath), out var route))
        {
            route = (Behaviour.Refuse, HttpStatusCode.OK, string.Empty);
        }

        switch (route.Behaviour)
        {
            case Behaviour.Refuse:
                throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused", new SocketException((int)SocketError.ConnectionRefused));
            case Behaviour.Hang:
                await Task.Delay(Timeout.Infinite, cancellationToken);
                throw new InvalidOperationException("unreachable");
            default:
                return new HttpResponseMessage(route.Status) { Content = new StringContent(route.Body), RequestMessage = request };
        }
    }
}
