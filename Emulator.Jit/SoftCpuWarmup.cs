using System.Runtime.CompilerServices;
using Emulator.Jit.CodeGen.X86;
using Emulator.Jit.Execution;
using Emulator.Jit.Translation;
using Iced.Intel;

namespace Emulator.Jit;

/// <summary>
/// Builds the software CPU's static tables on a thread of their own while the machine is still
/// being put together. The handler table (one entry per Iced code, each classified), the
/// translator's form tables and Iced's encoder tables are built on first use: without this, that
/// first use is the vCPU's first instruction and first translation, and a boot waits for them
/// (tens of milliseconds of a 5-second boot, with the main thread idle by then). Static
/// constructors run once whichever thread comes first, so the vCPU simply finds them done, or
/// waits for the one in progress.
/// </summary>
public static class SoftCpuWarmup
{
    private static int _started;

    /// <summary>Starts building the tables, once per process.</summary>
    public static void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            new Thread(Build) { IsBackground = true, Name = "emu-jit-warmup" }.Start();
        }
    }

    private static void Build()
    {
        try
        {
            foreach (Type t in (Type[])[typeof(HandlerTable), typeof(NativeForms), typeof(VectorForms), typeof(GeneralForms), typeof(DirectEncoder)])
            {
                RuntimeHelpers.RunClassConstructor(t.TypeHandle);
            }

            _ = Code.Add_rm64_r64.ToOpCode(); // Iced's encoder tables
        }
        catch (TypeInitializationException)
        {
            // The vCPU meets the same failure on its own thread, where it is reported.
        }
    }
}
