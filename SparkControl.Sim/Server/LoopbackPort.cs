using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;

namespace SparkControl.Sim.Server;

/// <summary>
/// A loopback port a simulated host holds for its whole life, so that what answers there is always its own server.
/// A port found free and let go is free for anyone: with many panels in one test run, another host's server could take
/// it while this host's model was still loading (or after it stopped), and this host's probes would then find the
/// other's model serving. On Linux the port stays bound (not listening) with SO_REUSEPORT, and the host's servers bind
/// it with the same option; a bind to port 0 elsewhere never picks a port that is bound.
/// </summary>
public sealed class LoopbackPort : IDisposable
{
    // Linux's SOL_SOCKET and SO_REUSEPORT: .NET names only SO_REUSEADDR.
    private const int SolSocket = 1;
    private const int SoReusePort = 15;

    private readonly Socket? _hold;

    private LoopbackPort(Socket? hold, int number)
    {
        _hold = hold;
        Number = number;
    }

    public int Number { get; }

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Number);

    public static LoopbackPort Reserve()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            ShareWithOwnServers(socket);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var number = ((IPEndPoint)socket.LocalEndPoint!).Port;
            if (!OperatingSystem.IsLinux())
            {
                // Elsewhere the port cannot be shared: it is let go, and the server binds it when it starts.
                socket.Dispose();
                return new LoopbackPort(null, number);
            }

            return new LoopbackPort(socket, number);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Makes a simulated server's Kestrel bind its listening socket so that it can share a held port.</summary>
    public static void UseSharedBind(IWebHostBuilder builder) => builder.UseSockets(sockets => sockets.CreateBoundListenSocket = endpoint =>
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            ShareWithOwnServers(socket);
            socket.Bind(endpoint);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    });

    private static void ShareWithOwnServers(Socket socket)
    {
        if (OperatingSystem.IsLinux())
        {
            socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
        }
    }

    public void Dispose() => _hold?.Dispose();
}
