using System.Collections.Concurrent;
using Emulator.Jit.Decoding;

namespace Emulator.Jit.Translation;

/// <summary>
/// Translates blocks on a thread of its own, so that the vCPU thread keeps interpreting a block that
/// has become hot instead of stopping to translate it: a boot to Linux's /init translates about
/// 35,000 blocks, which took 12-17% of the vCPU thread's time when it did so itself. The vCPU asks
/// (<see cref="Request"/>), the worker compiles into the vCPU's code cache (the compile function
/// holds the cache's compile lock and hands the result to <see cref="Deliver"/> before releasing it,
/// so that results queue in the order their chain slots were numbered), and the vCPU installs
/// results at its next dispatch (<see cref="TryTake"/>): publishing, chain slots and patching stay
/// on the vCPU's thread. The newest request is compiled first: a block that has just become hot is
/// the one the vCPU is running now, and one kept waiting too long the vCPU translates itself
/// (TranslationCache.TryRun).
/// </summary>
internal sealed class TranslationWorker : IDisposable
{
    private readonly ConcurrentStack<Block> _requests = new();
    private readonly ConcurrentQueue<TranslationCache.Compiled> _results = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Action<Block> _compile;
    private readonly Thread _thread;
    private volatile bool _idle, _stop;

    private readonly int _delayMs;

    /// <param name="name">The thread's name.</param>
    /// <param name="compile">Compiles a block and passes the result to <see cref="Deliver"/> under the compile lock.</param>
    /// <param name="delayMs">Milliseconds to wait before each compile: tests make a slow worker with it.</param>
    public TranslationWorker(string name, Action<Block> compile, int delayMs = 0)
    {
        _compile = compile;
        _delayMs = delayMs;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>True when results wait to be installed (a cheap test for every dispatch).</summary>
    public bool HasResults => !_results.IsEmpty;

    /// <summary>Asks for <paramref name="block"/> to be translated (the owner vCPU's thread only).</summary>
    public void Request(Block block)
    {
        _requests.Push(block);
        // The worker sets _idle and then looks at the queue once more; with this fence between the
        // enqueue and the read of _idle, one of the two sees the other (no lost wake-up), and a
        // busy worker costs the vCPU no system call.
        Interlocked.MemoryBarrier();
        if (_idle)
        {
            _idle = false;
            _wake.Release();
        }
    }

    public bool TryTake(out TranslationCache.Compiled result) => _results.TryDequeue(out result!);

    /// <summary>Queues a compiled block for the vCPU (called by the compile function, under the compile lock).</summary>
    public void Deliver(TranslationCache.Compiled result) => _results.Enqueue(result);

    private void Run()
    {
        while (!_stop)
        {
            if (_requests.TryPop(out Block? block))
            {
                if (_delayMs > 0)
                {
                    Thread.Sleep(_delayMs);
                }

                _compile(block);
                continue;
            }

            _idle = true;
            Interlocked.MemoryBarrier();
            if (!_requests.IsEmpty || _stop)
            {
                _idle = false;
                continue;
            }

            _wake.Wait();
            _idle = false;
        }
    }

    /// <summary>Stops the thread after the block it may be compiling (before the code cache goes).</summary>
    public void Dispose()
    {
        _stop = true;
        _wake.Release();
        _thread.Join();
        _wake.Dispose();
    }
}
