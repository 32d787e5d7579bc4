//! The compact decoded form executed by the simulator: register indices, resolved branch
//! targets, immediates folded into constant registers, one `Op` per instruction.

/// Index of a register in a thread's register file (registers are 64-bit slots).
pub type Reg = u32;
/// "No register" (absent optional operand, unguarded instruction, sink `_`).
pub const NO_REG: Reg = u32::MAX;

/// Scalar types.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ty {
    U8,
    U16,
    U32,
    U64,
    S8,
    S16,
    S32,
    S64,
    B8,
    B16,
    B32,
    B64,
    F16,
    F32,
    F64,
    Pred,
}

impl Ty {
    pub fn from_name(s: &str) -> Option<Ty> {
        Some(match s {
            "u8" => Ty::U8,
            "u16" => Ty::U16,
            "u32" => Ty::U32,
            "u64" => Ty::U64,
            "s8" => Ty::S8,
            "s16" => Ty::S16,
            "s32" => Ty::S32,
            "s64" => Ty::S64,
            "b8" => Ty::B8,
            "b16" => Ty::B16,
            "b32" => Ty::B32,
            "b64" => Ty::B64,
            "f16" => Ty::F16,
            "f32" => Ty::F32,
            "f64" => Ty::F64,
            "pred" => Ty::Pred,
            _ => return None,
        })
    }
    pub fn size(self) -> u32 {
        match self {
            Ty::U8 | Ty::S8 | Ty::B8 | Ty::Pred => 1,
            Ty::U16 | Ty::S16 | Ty::B16 | Ty::F16 => 2,
            Ty::U32 | Ty::S32 | Ty::B32 | Ty::F32 => 4,
            Ty::U64 | Ty::S64 | Ty::B64 | Ty::F64 => 8,
        }
    }
    pub fn bits(self) -> u32 {
        if self == Ty::Pred {
            1
        } else {
            self.size() * 8
        }
    }
    pub fn is_signed(self) -> bool {
        matches!(self, Ty::S8 | Ty::S16 | Ty::S32 | Ty::S64)
    }
    pub fn is_float(self) -> bool {
        matches!(self, Ty::F16 | Ty::F32 | Ty::F64)
    }
    pub fn is_int(self) -> bool {
        !self.is_float() && self != Ty::Pred
    }
    /// Mask of the type's bits in a 64-bit slot.
    pub fn mask(self) -> u64 {
        match self.bits() {
            64 => u64::MAX,
            b => (1u64 << b) - 1,
        }
    }
}

/// Rounding modes.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Rnd {
    #[default]
    Rn,
    Rz,
    Rm,
    Rp,
}

/// Float modifiers.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct FFlags {
    pub rnd: Rnd,
    pub ftz: bool,
    pub sat: bool,
    pub approx: bool,
}

/// State spaces of memory instructions.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Space {
    Global,
    Shared,
    Local,
    Const,
    /// The kernel's parameter buffer (read-only, shared by all threads).
    Param,
    /// Per-thread parameter space of `.func` calls (arguments and return values).
    TParam,
    Generic,
}

impl Space {
    pub fn name(self) -> &'static str {
        match self {
            Space::Global => "global",
            Space::Shared => "shared",
            Space::Local => "local",
            Space::Const => "const",
            Space::Param => "param",
            Space::TParam => "param",
            Space::Generic => "generic",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Addr {
    pub base: Reg,
    pub off: i64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum UnOp {
    Abs,
    Neg,
    Not,
    Cnot,
    Popc,
    Clz,
    Brev,
    Bfind,
    BfindShift,
    Rcp,
    Sqrt,
    Rsqrt,
    Ex2,
    Lg2,
    Sin,
    Cos,
    Tanh,
    TestFinite,
    TestInfinite,
    TestNumber,
    TestNotANumber,
    TestNormal,
    TestSubnormal,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BinOp {
    Add,
    AddSat,
    Sub,
    SubSat,
    MulLo,
    MulHi,
    /// Product of n-bit sources as a 2n-bit result (destination type is the wide type).
    MulWide,
    Mul24Lo,
    Mul24Hi,
    Div,
    Rem,
    Min,
    Max,
    And,
    Or,
    Xor,
    Shl,
    Shr,
    Copysign,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TernOp {
    MadLo,
    MadHi,
    MadHiSat,
    MadWide,
    Mad24Lo,
    Fma,
    Bfe,
    Prmt,
    /// `selp.T d, a, b, c`: c is a predicate.
    Selp,
    /// `slct.T.s32 d, a, b, c`: c >= 0 ? a : b.
    SlctS32,
    SlctF32,
    ShfLWrap,
    ShfLClamp,
    ShfRWrap,
    ShfRClamp,
    Lop3(u8),
    Sad,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Lo,
    Ls,
    Hi,
    Hs,
    Equ,
    Neu,
    Ltu,
    Leu,
    Gtu,
    Geu,
    Num,
    Nan,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BoolOp {
    And,
    Or,
    Xor,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AtomOp {
    Add,
    Min,
    Max,
    Inc,
    Dec,
    Cas,
    Exch,
    And,
    Or,
    Xor,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ShflMode {
    Up,
    Down,
    Bfly,
    Idx,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum VoteMode {
    All,
    Any,
    Uni,
    Ballot,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BarKind {
    Sync,
    RedPopc,
    RedAnd,
    RedOr,
}

/// One decoded operation.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Nop,
    Mov {
        ty: Ty,
        d: Reg,
        a: Reg,
    },
    Un {
        op: UnOp,
        ty: Ty,
        fl: FFlags,
        d: Reg,
        a: Reg,
    },
    Bin {
        op: BinOp,
        ty: Ty,
        fl: FFlags,
        d: Reg,
        a: Reg,
        b: Reg,
    },
    Tern {
        op: TernOp,
        ty: Ty,
        fl: FFlags,
        d: Reg,
        a: Reg,
        b: Reg,
        c: Reg,
    },
    Bfi {
        ty: Ty,
        d: Reg,
        a: Reg,
        b: Reg,
        c: Reg,
        e: Reg,
    },
    Setp {
        cmp: Cmp,
        ty: Ty,
        ftz: bool,
        d: Reg,
        q: Reg,
        a: Reg,
        b: Reg,
        comb: Option<(BoolOp, Reg)>,
    },
    /// Integer or float comparison writing 1/0 into an integer/float register (`set`).
    Cvt {
        dty: Ty,
        sty: Ty,
        fl: FFlags,
        int_rnd: bool,
        d: Reg,
        a: Reg,
    },
    /// `mov.b64 d, {a, b}`: concatenate n elements of `ety` (low first).
    Pack {
        ety: Ty,
        n: u8,
        d: Reg,
        srcs: [Reg; 4],
    },
    /// `mov.b64 {a, b}, d`: split.
    Unpack {
        ety: Ty,
        n: u8,
        dsts: [Reg; 4],
        a: Reg,
    },
    Ld {
        space: Space,
        ty: Ty,
        n: u8,
        dsts: [Reg; 4],
        addr: Addr,
    },
    St {
        space: Space,
        ty: Ty,
        n: u8,
        srcs: [Reg; 4],
        addr: Addr,
    },
    Atom {
        space: Space,
        op: AtomOp,
        ty: Ty,
        d: Reg,
        addr: Addr,
        b: Reg,
        c: Reg,
    },
    /// `cvta` (to_generic = !to): convert between a window address and a generic address.
    Cvta {
        to: bool,
        space: Space,
        d: Reg,
        a: Reg,
        wide: bool,
    },
    Bra {
        target: u32,
    },
    Call {
        site: u32,
    },
    Ret,
    Exit,
    Trap,
    Bar {
        kind: BarKind,
        id: Reg,
        count: Reg,
        d: Reg,
        p: Reg,
        aligned: bool,
    },
    WarpSync {
        mask: Reg,
    },
    Shfl {
        mode: ShflMode,
        d: Reg,
        p: Reg,
        a: Reg,
        b: Reg,
        c: Reg,
        mask: Reg,
    },
    Vote {
        mode: VoteMode,
        d: Reg,
        a: Reg,
        mask: Reg,
    },
    Match {
        all: bool,
        ty: Ty,
        d: Reg,
        p: Reg,
        a: Reg,
        mask: Reg,
    },
    Activemask {
        d: Reg,
    },
}

impl Op {
    /// Whether the op parks threads until others arrive (a rendezvous).
    pub fn is_sync(&self) -> bool {
        matches!(
            self,
            Op::Bar { .. }
                | Op::WarpSync { .. }
                | Op::Shfl { .. }
                | Op::Vote { .. }
                | Op::Match { .. }
        )
    }
    pub fn is_warp_sync(&self) -> bool {
        matches!(
            self,
            Op::WarpSync { .. } | Op::Shfl { .. } | Op::Vote { .. } | Op::Match { .. }
        )
    }
    /// Whether the op changes control flow (handled outside the straight-line fast path).
    pub fn is_control(&self) -> bool {
        matches!(
            self,
            Op::Bra { .. } | Op::Call { .. } | Op::Ret | Op::Exit | Op::Trap
        ) || self.is_sync()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Inst {
    pub op: Op,
    pub guard: Reg,
    pub guard_neg: bool,
    pub line: u32,
    /// Index of the function (in `Kernel::funcs`) the instruction belongs to.
    pub func: u16,
}

/// A `call` site: parameter copies into the callee's frame and back.
#[derive(Clone, Debug, PartialEq)]
pub struct CallSite {
    pub target: u32,
    /// The callee's function index (into `Kernel::funcs`).
    pub func: u16,
    pub ret_pc: u32,
    /// (src offset, dst offset, bytes) in per-thread param space: caller args -> callee params.
    pub args: Vec<(u32, u32, u32)>,
    /// (callee retval offset, caller variable offset, bytes).
    pub rets: Vec<(u32, u32, u32)>,
}

/// Per-lane constant registers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Special {
    Tid(u8),
    Ntid(u8),
    Ctaid(u8),
    Nctaid(u8),
    Laneid,
    Warpid,
    Nwarpid,
    LanemaskEq,
    LanemaskLt,
    LanemaskLe,
    LanemaskGt,
    LanemaskGe,
    Smid,
    Nsmid,
    Gridid,
    Clock,
    Clock64,
    DynSmemSize,
    TotalSmemSize,
}

/// A declared kernel parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamInfo {
    pub name: String,
    /// Declared type, e.g. ".u64" (".b8" arrays for structs).
    pub ty: String,
    pub size: u32,
    pub align: u32,
    pub offset: u32,
}

/// A kernel (`.entry`) decoded with all the functions it calls.
#[derive(Clone, Debug)]
pub struct Kernel {
    pub name: String,
    pub code: Vec<Inst>,
    pub nregs: u32,
    pub consts: Vec<(Reg, u64)>,
    pub specials: Vec<(Reg, Special)>,
    pub call_sites: Vec<CallSite>,
    pub params: Vec<ParamInfo>,
    pub param_size: u32,
    pub shared_static: u32,
    /// Offset (shared window) where `.extern .shared` (dynamic) memory starts.
    pub dyn_shared_base: u32,
    pub local_size: u32,
    pub tparam_size: u32,
    /// Names of functions (index = `Inst::func`); 0 is the kernel itself.
    pub funcs: Vec<String>,
    /// Whether the code contains any `call` (per-lane call stacks needed).
    pub has_calls: bool,
    /// Per function (index as `funcs`), what a call saves and its return restores; filled only
    /// when the call graph has a cycle (recursion), empty otherwise.
    pub frames: Vec<FrameSpan>,
}

/// The per-invocation state of a function: its registers and per-thread `.local` bytes
/// (`[lo, hi)`) and `.param` slots (offset, bytes). A recursive call saves these and its
/// return restores them, so each invocation has its own.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FrameSpan {
    pub regs: (u32, u32),
    pub local: (u32, u32),
    pub tparam: Vec<(u32, u32)>,
}
