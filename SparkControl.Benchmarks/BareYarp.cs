using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SparkControl.Web.Gateway;
using Yarp.ReverseProxy.Forwarder;

namespace SparkControl.Benchmarks;

/// <summary>
/// YARP with nothing of ours: every request forwarded as is to one upstream, with the gateway's own upstream
/// handler. The gateway bench runs it as a fourth path, so the cost of Kestrel + HttpClient + YARP on this machine is
/// told apart from the cost of the gateway's own work (reading the model, routing, the drain gate, errors, metrics).
/// <c>bare-yarp PORT UPSTREAM</c>; runs until killed.
/// </summary>
public static class BareYarp
{
    public static async Task<int> RunAsync(string[] args)
    {
        var port = int.Parse(args[1], CultureInfo.InvariantCulture);
        var upstream = args[2];
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.AddHttpForwarder();
        var app = builder.Build();
        using var invoker = new HttpMessageInvoker(GatewayForwarder.CreateUpstreamHandler());
        app.MapForwarder("/{**rest}", upstream, ForwarderRequestConfig.Empty, HttpTransformer.Empty, invoker);
        await app.RunAsync();
        return 0;
    }
}
